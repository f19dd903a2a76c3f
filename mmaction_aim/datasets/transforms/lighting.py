"""The colour augmentation the original AIM's ViT-L Kinetics recipe used."""
from typing import Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS

#: Eigenvalues (0-255 scale) and eigenvectors (columns) of the RGB
#: covariance of ImageNet pixels, as AlexNet's lighting noise uses them.
IMAGENET_EIGVAL = (55.46, 4.794, 1.148)
IMAGENET_EIGVEC = ((-0.5675, 0.7192, 0.4009),
                   (-0.5808, -0.0045, -0.8140),
                   (-0.5836, -0.6948, 0.4203))


@TRANSFORMS.register_module()
class PCALighting(BaseTransform):
    """AlexNet-style PCA lighting noise, one draw per clip.

    This is what MMAction2 0.x's ``ColorJitter()`` does with its defaults
    (``color_space_aug=False``), the ``dict(type='ColorJitter')`` of the
    original AIM's ViT-L Kinetics configs: ``alpha ~ N(0, alpha_std)`` per
    eigenvector, drawn once for the clip, and every frame shifted by
    ``eigvec @ (alpha * eigval)`` (a per-channel offset of about 3 levels,
    0-255 scale, for ``alpha_std=0.1``). Frames become float32 and are not
    clipped. MMAction2 1.x's ``ColorJitter`` is a different operation
    (brightness, contrast, saturation and hue).

    Required keys: ``imgs`` (RGB ``H x W x 3`` frames). Modified keys:
    ``imgs``.

    Args:
        alpha_std (float): Standard deviation of ``alpha``. Defaults to 0.1.
        eigval (Sequence[float]): Eigenvalues. Defaults to ImageNet's.
        eigvec (Sequence[Sequence[float]]): Eigenvectors as columns.
            Defaults to ImageNet's.
    """

    def __init__(self, alpha_std: float = 0.1,
                 eigval: Sequence[float] = IMAGENET_EIGVAL,
                 eigvec: Sequence[Sequence[float]] = IMAGENET_EIGVEC) -> None:
        self.alpha_std = alpha_std
        self.eigval = np.asarray(eigval, dtype=np.float64)
        self.eigvec = np.asarray(eigvec, dtype=np.float64)

    def transform(self, results: dict) -> dict:
        alpha = np.random.normal(0, self.alpha_std, size=3)
        shift = (self.eigvec @ (alpha * self.eigval)).astype(np.float32)
        results['imgs'] = [img.astype(np.float32) + shift
                           for img in results['imgs']]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(alpha_std={self.alpha_std})'
