"""How dates are typed on Vietnamese pages (docs/i18n.md): day first, as they are written in Vietnam and as
the app shows them (`d-m-Y`, `d/m/Y`). Django's own `vi` formats declare no input formats, so without these
the defaults apply and `06/12/2026` is read month first — 12 June. Only four-digit years: `06/12/26` is
refused rather than guessed. ISO (`2026-12-06`) stays accepted for pasted values. The admin's date picker
writes the first format. Display formats and separators stay Django's: `get_format` looks in this module
first, then in `django.conf.locale.vi.formats`."""

DATE_INPUT_FORMATS = ["%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d"]
DATETIME_INPUT_FORMATS = [
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
    "%H:%M %d-%m-%Y",  # the SHORT_DATETIME_FORMAT the app shows, typed back
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
]

# Django's vi leaves grouping off: numbers formatted with grouping forced (counts and sizes in messages) read
# 5.242.880 with the vi THOUSAND_SEPARATOR.
NUMBER_GROUPING = 3
