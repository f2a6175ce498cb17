#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write a C file defining `const char NAME[]` with the bytes of a text file (a build step:
the schema pvimg prints lives in its own .json file, readable and testable as such)."""
import sys


def main():
    src, name, dst = sys.argv[1:4]
    data = open(src, 'rb').read()
    if b'\0' in data:
        sys.exit(f'{src}: a NUL byte cannot be embedded in a C string')
    rows = [', '.join(str(b) for b in data[i:i + 16]) for i in range(0, len(data), 16)]
    with open(dst, 'w') as out:
        out.write(f'/* Generated from {src.split("/")[-1]} by embed-text.py; do not edit. */\n')
        out.write(f'const char {name}[] = {{\n\t' + ',\n\t'.join(rows) + ',\n\t0\n};\n')


if __name__ == '__main__':
    main()
