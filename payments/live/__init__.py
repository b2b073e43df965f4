"""Live updates (docs/live.md): the Server-Sent Events stream the back office's pages listen to, fed by one
PostgreSQL LISTEN connection per server process (`hub`); what a change announces is `acountee.live`."""
