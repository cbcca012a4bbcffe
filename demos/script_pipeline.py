"""samstream from Python in ten lines: track a boxed object through a stream (synthetic camera)."""
import os

from samstream import Pipeline, Prompt

square = Prompt(1, box=[281, 95, 455, 263])  # x1, y1, x2, y2 of the square in frame 0
frames = int(os.environ.get("SAMSTREAM_MAX_FRAMES", "300"))
with Pipeline("synthetic:640x480@30,realtime=0", prompts=[square], max_frames=frames) as pipe:
    for seg in pipe:  # one Segmentation per frame: masks (N, H, W), object_ids, scores, lost
        print(seg.frame_index, seg.object_ids.tolist(), [int(m.sum()) for m in seg.masks])
