"""Transforms registered into MMAction2 that the original AIM recipes need:
its test-clip placement, its RandAugment, colour noise and random erasing;
several view protocols at once; a decoder of only what sampled frames
need."""
from .erasing import ClipRandomErasing, with_mean_fill
from .lighting import PCALighting
from .rand_augment import ImgaugRandAugment
from .torchcodec_decode import (TorchCodecDecode, TorchCodecInit,
                                torchcodec_problem)
from .decoders import with_decoder
from .sparse_decode import SparseDecode, SparseInit
from .sampling import CentredSampleFrames, MultiProtocolSampleFrames

__all__ = [
    'CentredSampleFrames', 'ClipRandomErasing', 'ImgaugRandAugment',
    'MultiProtocolSampleFrames', 'PCALighting', 'with_mean_fill',
    'SparseInit', 'SparseDecode',
    'with_decoder', 'TorchCodecInit', 'TorchCodecDecode', 'torchcodec_problem'
]
