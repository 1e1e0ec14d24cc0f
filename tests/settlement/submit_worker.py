"""A submitting process for the crash test: submits one batch from a file and prints the result.

python -m tests.settlement.submit_worker --rpc URL --exchange ADDR --journal PATH --batch FILE
(the operator key comes from $STRIKEBOOK_OPERATOR_KEY, as in production until keystores are used).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from keys.signer import LocalSigner
from settlement.batch import batch_from_json
from settlement.chain import Chain
from settlement.journal import SQLiteSubmitJournal
from settlement.submitter import Submitter, SubmitterConfig


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rpc", required=True)
    parser.add_argument("--exchange", required=True)
    parser.add_argument("--journal", type=Path, required=True)
    parser.add_argument("--batch", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    signer = LocalSigner(os.environ["STRIKEBOOK_OPERATOR_KEY"])
    config = SubmitterConfig(poll_interval=0.05, stuck_after=3600, timeout=120)
    submitter = Submitter(Chain.from_url(args.rpc), signer, args.exchange, SQLiteSubmitJournal(args.journal), config)
    result = submitter.submit(batch_from_json(args.batch.read_text()))
    print(
        json.dumps(
            {
                "seq": result.seq,
                "txHash": result.tx_hash.hex(),
                "resumed": result.resumed,
                "attempts": [a.tx_hash.hex() for a in result.attempts],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
