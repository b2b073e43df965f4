"""A parser process for large imports: `python -m invoices.parse_worker`.

Reads length-prefixed pickled requests `(max_bytes, [xml bytes, …])` on stdin and answers
each with the pickled `parse_many` result on stdout. It imports only the parser (lxml, no
Django). Only `invoices.importing` talks to it, over a pipe it created: the pickles never
come from anywhere else.
"""

from __future__ import annotations

import pickle
import sys

from invoices.parser import parse_many

HEADER = 8


def _read_exactly(stream, size: int) -> bytes:
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def main() -> None:
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            size = int.from_bytes(_read_exactly(source, HEADER), "big")
            max_bytes, items = pickle.loads(_read_exactly(source, size))  # noqa: S301 - our own parent
        except EOFError:
            return
        answer = pickle.dumps(parse_many(items, max_bytes), protocol=pickle.HIGHEST_PROTOCOL)
        sink.write(len(answer).to_bytes(HEADER, "big") + answer)
        sink.flush()


if __name__ == "__main__":
    main()
