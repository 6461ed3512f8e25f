"""Count the flows NFStreamer finds in a pcap file and print the number.

Used by `cargo xtask bench` (the peer-tools part) to time nfstream on the same
capture as the sensor. Statistical features, early-flow features and nDPI
dissection are off so that nfstream does only flow metering, as the other peers do.
"""

import sys

from nfstream import NFStreamer


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: nfstream_flows.py PCAP", file=sys.stderr)
        return 2
    streamer = NFStreamer(
        source=sys.argv[1],
        n_meters=1,
        statistical_analysis=False,
        splt_analysis=0,
        n_dissections=0,
    )
    flows = sum(1 for _ in streamer)
    print(flows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
