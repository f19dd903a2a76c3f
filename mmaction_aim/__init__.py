"""mmaction-aim: AIM (ICLR 2023) as an MMAction2 1.x plugin.

Importing this package applies the compatibility fixes for the published
mmaction2/mmengine releases and registers every component into MMAction2's
registries.
"""
from . import compat

compat.apply_all()

from . import models  # noqa: E402,F401  (registers the models)
from . import datasets  # noqa: E402,F401  (registers AIMVideoDataset)
from . import engine  # noqa: E402,F401  (registers AIMEpochBasedTrainLoop)
from . import evaluation  # noqa: E402,F401  (registers ViewProtocolAccMetric)
from . import apis  # noqa: E402,F401  (features for downstream work)
from . import utils  # noqa: E402,F401

__version__ = '0.1.0'
