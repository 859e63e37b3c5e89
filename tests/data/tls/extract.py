#!/usr/bin/env python3
"""extract.py CAPTURE STREAM MAXCHUNKS OUT - the first TCP payload chunks of one TCP stream.

Runs `tshark -q -z follow,tcp,raw,STREAM` (tshark reassembles and orders the stream) and writes
the first MAXCHUNKS chunks, in capture order, as records: 1 byte direction (0 = from the client,
1 = from the server), 4 bytes big-endian length, the bytes.
"""
import struct, subprocess, sys

cap, stream, maxchunks, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
text = subprocess.run(['tshark', '-r', cap, '-q', '-z', f'follow,tcp,raw,{stream}'],
                      capture_output=True, text=True, check=True).stdout
chunks = []
for line in text.split('\n'):
    if not line.strip() or line.startswith('=') or ':' in line:
        continue
    d = 1 if line.startswith('\t') else 0
    chunks.append((d, bytes.fromhex(line.strip())))
with open(out, 'wb') as f:
    for d, b in chunks[:maxchunks]:
        f.write(struct.pack('>BI', d, len(b)) + b)
print(out, [(d, len(b)) for d, b in chunks[:maxchunks]])
