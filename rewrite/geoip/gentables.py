#!/usr/bin/env python3
"""Writes countries.tsv and regions.tsv, the tables libGeoIP answers
country codes, names, continents and region names from, by asking the
installed library (Debian's libgeoip1) through its public symbols:
GeoIP_country_code, _code3, _continent, _name, _utf8_country_name and
GeoIP_region_name_by_code. Run: python3 gentables.py (go generate)."""
import ctypes

lib = ctypes.CDLL("libGeoIP.so.1")
code = (ctypes.c_char * 3 * 256).in_dll(lib, "GeoIP_country_code")
code3 = (ctypes.c_char * 4 * 256).in_dll(lib, "GeoIP_country_code3")
cont = (ctypes.c_char * 3 * 256).in_dll(lib, "GeoIP_country_continent")
name = (ctypes.c_char_p * 256).in_dll(lib, "GeoIP_country_name")
uname = (ctypes.c_char_p * 256).in_dll(lib, "GeoIP_utf8_country_name")
lib.GeoIP_region_name_by_code.restype = ctypes.c_char_p
lib.GeoIP_region_name_by_code.argtypes = [ctypes.c_char_p, ctypes.c_char_p]


def esc(b):
    if b is None:
        return "-"
    return "".join(chr(c) if 0x20 <= c < 0x7f and c != 0x5c else "\\x%02x" % c for c in b)


with open("countries.tsv", "w") as f:
    f.write("# id\tcode\tcode3\tcontinent\tname (ISO-8859-1)\tname (UTF-8); \\xNN escapes, - for none\n")
    for i in range(256):
        f.write("%d\t%s\t%s\t%s\t%s\t%s\n" % (i, esc(code[i].value), esc(code3[i].value),
                                             esc(cont[i].value), esc(name[i]), esc(uname[i])))
alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
with open("regions.tsv", "w") as f:
    f.write("# country\tregion\tname (\\xNN escapes)\n")
    seen = set()
    for i in range(256):
        cc = code[i].value
        if cc in seen or not cc:
            continue
        seen.add(cc)
        for a in alnum:
            for b in alnum:
                r = lib.GeoIP_region_name_by_code(cc, (a + b).encode())
                if r is not None:
                    f.write("%s\t%s\t%s\n" % (esc(cc), a + b, esc(r)))
