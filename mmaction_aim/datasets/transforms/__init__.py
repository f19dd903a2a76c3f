"""Transforms registered into MMAction2 that the original AIM recipes need:
its test-clip placement, its RandAugment, colour noise and random erasing."""
from .erasing import ClipRandomErasing, with_mean_fill
from .lighting import PCALighting
from .rand_augment import ImgaugRandAugment
from .sampling import CentredSampleFrames

__all__ = [
    'CentredSampleFrames', 'ClipRandomErasing', 'ImgaugRandAugment',
    'PCALighting', 'with_mean_fill'
]
