"""PyTorch image-encoder architectures, state-dict compatible with official checkpoints.

* :func:`mobilesam_image_encoder` - MobileSAM's TinyViT-5M encoder (1024 input).
* :func:`efficientvit_sam_l0_image_encoder` - EfficientViT-SAM-L0 encoder (512 input).

Both return (B, 256, 64, 64) SAM image embeddings. Official checkpoints hold the full SAM
model; strip the ``image_encoder.`` prefix to load an encoder (see each builder's docstring).
Importing this package requires torch; the runtime (OpenVINO) path does not import it.
"""

from .efficientvit_sam import efficientvit_sam_image_encoder, efficientvit_sam_l0_image_encoder
from .tiny_vit import mobilesam_image_encoder, tiny_vit

__all__ = [
    "efficientvit_sam_image_encoder",
    "efficientvit_sam_l0_image_encoder",
    "mobilesam_image_encoder",
    "tiny_vit",
]
