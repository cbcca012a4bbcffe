"""The live view from Python: a camera (or any source) segmented live in your browser.

    python demos/webcam_demo.py                    # synthetic camera, http://localhost:7860
    python demos/webcam_demo.py --source 0         # the server's webcam
    python demos/webcam_demo.py --model mobilesam  # after `samstream export mobilesam`

In the page, click an object to segment it; pick "browser webcam" to stream the camera of the
machine running the browser instead. Same as `samstream demo`; needs `pip install 'samstream[ui]'`.
"""
import argparse
import os
import time

from samstream.ui import serve

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--source", default="synthetic", help="server-side source (default: synthetic)")
ap.add_argument("--model", default="classic", help="classic (no weights) or an exported SAM model")
ap.add_argument("--port", type=int, default=7860)
ap.add_argument("--seconds", type=float, default=float(os.environ.get("SAMSTREAM_DEMO_SECONDS", "0")),
                help="stop after this many seconds (default: run until Ctrl+C)")
args = ap.parse_args()

demo = serve(source=args.source, model=args.model, port=args.port, block=args.seconds <= 0)
if args.seconds > 0:  # a timed run (tests, screen recordings)
    time.sleep(args.seconds)
    demo.samstream_hub.close()
    demo.close()
