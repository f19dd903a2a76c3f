"""Which transforms of a video pipeline open, sample and decode the video.

A transform of this package declares its part with a class attribute
``video_role`` (:data:`OPEN`, :data:`SAMPLE` or :data:`DECODE`); MMAction2's
own transforms are named once, in :data:`MMACTION_ROLES`; a subclass takes
its parent's role (``CentredSampleFrames`` samples as ``SampleFrames``
does), and a transform of another package joins by declaring
``video_role``. :class:`VideoPipeline` answers "where are the opener, the
sampler and the decoder" for every part of the package that needs to know:
the dataset (a failure of an opener or decoder names the video), repeated
sampling, view protocols, feature extraction, the checks before a run,
``--shrink`` and the loader benchmark.
"""
from typing import Any, List, Optional, Sequence

#: The transform opens the video file (``DecordInit``).
OPEN = 'open'
#: The transform chooses the frames (``SampleFrames``).
SAMPLE = 'sample'
#: The transform decodes the chosen frames (``DecordDecode``).
DECODE = 'decode'

#: MMAction2's transforms that read videos, by role.
MMACTION_ROLES = {
    'DecordInit': OPEN, 'OpenCVInit': OPEN, 'PyAVInit': OPEN,
    'PIMSInit': OPEN,
    'DecordDecode': DECODE, 'OpenCVDecode': DECODE, 'PyAVDecode': DECODE,
    'PyAVDecodeMotionVector': DECODE, 'PIMSDecode': DECODE,
    'SampleFrames': SAMPLE, 'UniformSample': SAMPLE,
    'UniformSampleFrames': SAMPLE, 'DenseSampleFrames': SAMPLE,
}


def _transform_class(transform: Any) -> Optional[type]:
    """The class of a built transform, a config dict or a class."""
    if isinstance(transform, type):
        return transform
    if isinstance(transform, dict):
        kind = transform.get('type')
        if isinstance(kind, type):
            return kind
        from mmaction.registry import TRANSFORMS
        return TRANSFORMS.get(kind) if isinstance(kind, str) else None
    return type(transform)


def role_of(transform: Any) -> Optional[str]:
    """:data:`OPEN`, :data:`SAMPLE`, :data:`DECODE` or None.

    Args:
        transform: A built transform, its config dict or its class.
    """
    cls = _transform_class(transform)
    if cls is None:
        return None
    for klass in cls.__mro__:
        role = klass.__dict__.get('video_role') or MMACTION_ROLES.get(
            klass.__name__)
        if role is not None:
            return role
    return None


def _name(transform: Any) -> str:
    if isinstance(transform, dict):
        kind = transform.get('type')
        return getattr(kind, '__name__', str(kind))
    return type(transform).__name__


class VideoPipeline:
    """The parts of one pipeline (built transforms or their configs).

    Args:
        transforms (Sequence): The pipeline.
    """

    def __init__(self, transforms: Sequence[Any]) -> None:
        self.transforms = list(transforms)
        self.roles = [role_of(t) for t in self.transforms]

    @property
    def names(self) -> List[str]:
        """The transforms' class names, for messages."""
        return [_name(t) for t in self.transforms]

    def positions(self, role: str) -> List[int]:
        """Every position of ``role``."""
        return [i for i, r in enumerate(self.roles) if r == role]

    def find(self, role: str) -> Optional[int]:
        """The position of the one transform of ``role``, or None."""
        found = self.positions(role)
        if len(found) > 1:
            raise ValueError(f'the pipeline has {len(found)} transforms that '
                             f'{role} the video '
                             f'({[self.names[i] for i in found]}); one is '
                             'expected')
        return found[0] if found else None

    def one(self, role: str, purpose: str) -> int:
        """The position of the one transform of ``role``.

        Raises:
            ValueError: Naming ``purpose`` and the pipeline, where it has
                none.
        """
        found = self.find(role)
        if found is None:
            raise ValueError(f'{purpose} needs a transform that {role}s the '
                             f'video; the pipeline is {self.names}')
        return found

    @property
    def opener(self) -> Optional[int]:
        return self.find(OPEN)

    @property
    def sampler(self) -> Optional[int]:
        return self.find(SAMPLE)

    @property
    def decoder(self) -> Optional[int]:
        return self.find(DECODE)

    def reads_file(self, index: int) -> bool:
        """Whether the transform at ``index`` opens or decodes the file (its
        failure is the video's)."""
        return self.roles[index] in (OPEN, DECODE)

    def in_a_row(self, purpose: str) -> int:
        """The opener's position, where the opener, the sampler and the
        decoder follow each other.

        Raises:
            ValueError: Naming ``purpose`` and the pipeline otherwise.
        """
        start = self.find(OPEN)
        if start is None or self.roles[start + 1:start + 3] != [SAMPLE,
                                                                DECODE]:
            raise ValueError(
                f'{purpose}: the pipeline must open the video, sample frames '
                'and decode them in three consecutive transforms (e.g. '
                'DecordInit, SampleFrames, DecordDecode); got '
                f'{self.names}')
        return start
