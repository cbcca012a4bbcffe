"""``samstream segment``: one image, from clicks/boxes or segment-everything."""

from __future__ import annotations

from pathlib import Path

from .common import FMT, add_model_args, box, point, read_image


def add_parser(sub) -> None:
    p = sub.add_parser(
        "segment", help="segment one image", formatter_class=FMT,
        description="Segment one image from include/exclude points and/or a box, or everything in it. "
                    "Writes a mask PNG (0 background, 255 object; with --everything a label map 0..N).",
        epilog="examples:\n"
               "  samstream segment photo.jpg --point 320,240 -o mask.png --overlay overlay.jpg\n"
               "  samstream segment photo.jpg --box 100,80,400,360 --neg-point 250,200 -o mask.png\n"
               "  samstream segment photo.jpg --everything -o labels.png --overlay all.jpg\n")
    p.add_argument("image", type=Path, help="input image (jpg/png/...)")
    add_model_args(p)
    p.add_argument("--point", type=point, action="append", default=[], metavar="X,Y", help="include point (repeatable)")
    p.add_argument("--neg-point", type=point, action="append", default=[], metavar="X,Y", help="exclude point (repeatable)")
    p.add_argument("--box", type=box, metavar="X1,Y1,X2,Y2", help="box around the object")
    p.add_argument("--everything", action="store_true", help="segment everything (automatic masks) instead")
    p.add_argument("--multimask", action="store_true", help="pick the best of 3 candidate masks (good for one click)")
    p.add_argument("-o", "--output", type=Path, required=True, help="mask PNG to write")
    p.add_argument("--overlay", type=Path, help="also write the image with the mask drawn on it")


def run(args) -> int:
    import cv2
    import numpy as np

    from ..engine import load_predictor
    from ..sinks.overlay import draw_overlay
    from ..types import Frame, Segmentation

    img = read_image(args.image)
    predictor = load_predictor(args.model, precision=args.precision)
    frame = Frame(img, 0, 0.0, str(args.image))
    if args.everything:
        if args.point or args.neg_point or args.box:
            raise ValueError("--everything takes no --point/--neg-point/--box: drop one or the other.")
        if predictor.has_everything:  # the predictor has its own segment-everything (e.g. classic)
            predictor.set_image(img)
            masks, scores = predictor.everything(img)
            seg = Segmentation(masks, scores, np.arange(1, len(masks) + 1), 0, 0.0)
        else:
            from ..engine.everything import MaskGenerator

            seg = MaskGenerator(predictor).generate_segmentation(frame)
        cv2.imwrite(str(args.output), seg.label_map())
        print(f"{len(seg)} masks -> {args.output} (label map, 0 = background)")
    else:
        pts = args.point + args.neg_point
        if not pts and args.box is None:
            raise ValueError("nothing to segment: give --point X,Y (and/or --neg-point, --box), or --everything.")
        labels = [1] * len(args.point) + [0] * len(args.neg_point)
        predictor.set_image(img)
        masks, scores, _ = predictor.predict(point_coords=np.array(pts) if pts else None,
                                             point_labels=np.array(labels) if pts else None,
                                             box=args.box, multimask_output=args.multimask)
        best = int(np.argmax(scores))
        seg = Segmentation(masks[best:best + 1], scores[best:best + 1], [1], 0, 0.0)
        cv2.imwrite(str(args.output), masks[best].astype(np.uint8) * 255)
        print(f"mask ({int(masks[best].sum())} px, score {float(scores[best]):.2f}) -> {args.output}")
    weights = predictor.describe().get("weights")
    if weights == "random":
        print("note: this model has RANDOM weights (random-init export): the mask is meaningless.")
    if args.overlay:
        clicked = not args.everything and (args.point or args.neg_point)
        over = draw_overlay(img, seg, 0.5, points=np.array(args.point + args.neg_point) if clicked else None,
                            point_labels=np.array([1] * len(args.point) + [0] * len(args.neg_point)),
                            box=None if args.everything else args.box)
        cv2.imwrite(str(args.overlay), over)
        print(f"overlay -> {args.overlay}")
    return 0
