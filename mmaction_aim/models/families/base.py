"""What a family of image models tells AIM: :class:`ImageModelFamily`."""
import dataclasses
import os
from typing import Dict, Iterator, List, MutableSequence, Sequence, Tuple

import torch
from torch import nn

from ...checkpoint import StateDict, read_checkpoint, strip_prefix, unwrap
from ...utils.errors import BadInputError
from ..layers.adapted_block import AdaptedBlock, BlockParts

#: One stage of an image model: what runs before its blocks (patch merging,
#: or identity) and the blocks, a sequence whose items can be replaced.
Stage = Tuple[nn.Module, MutableSequence[nn.Module]]


class UnsupportedImageModelError(BadInputError):
    """An image model that AIM cannot adapt, with the reason."""


@dataclasses.dataclass(frozen=True)
class ImageModelFacts:
    """What AIM reads of a built image model, as data
    (:meth:`ImageModelFamily.facts`).

    Attributes:
        width (int): Channels of the backbone's output (the head's
            ``in_channels``).
        token_width (int): Width of the tokens the temporal embedding is
            added to.
        input_size (int): The frame size the image model is built for.
        fixed_input_size (bool): Whether only frames of ``input_size`` fit
            (absolute positions, fixed windows).
        output_norms (tuple[str, ...]): The final norm(s), as module names
            in the image model; trained unless ``freeze_ln_post``.
    """

    width: int
    token_width: int
    input_size: int
    fixed_input_size: bool
    output_norms: Tuple[str, ...]


class ImageModelFamily:
    """How AIM adapts one kind of image model (one file, one decorator).

    :class:`~..backbones.AIMBackbone` writes AIM once: it builds the image
    model through :meth:`build`, replaces each block of :meth:`stages` by
    :meth:`adapt_block`, adds the temporal embedding, marks what trains and
    loads weights through the package's one pipeline. A family supplies
    only what differs between image models:

    * building: :meth:`build` (the plain image model, initialised as its
      authors do), :attr:`block_types` (the image model's block classes and
      where each keeps its parts, :class:`~..layers.BlockParts`),
      :meth:`stages` (one stage for a flat ViT; Swin's four), optionally
      :attr:`time_steps` (a tubelet embedding's), :meth:`check`;
    * forward: :meth:`embed` (clip to tokens), :meth:`pre_blocks`,
      :meth:`output`;
    * weights: :meth:`convert` (any released layout to the model's own
      names, pure), optionally :meth:`read`;
    * facts, as data: :attr:`normalization`, :meth:`facts` (widths, input
      size, output norms), :attr:`trains_new_parameters`,
      :attr:`temporal_embedding`, :attr:`original_drop_path`; for messages
      and checkpoints :meth:`describe`, :meth:`identity`.

    A family keeps the image model's own module names, so that its released
    weights load unchanged under the backbone's ``image_model.`` prefix.

    Args:
        num_frames (int): Frames per clip (given by the backbone).
    """

    #: image-model block class -> where such a block keeps its parts.
    block_types: Dict[type, BlockParts] = {}
    #: The image model's mean and std, 0-255 scale.
    normalization: Tuple[List[float], List[float]]
    #: Whether the parameters the adapted blocks add beside the adapters
    #: (:attr:`~..layers.AdaptedBlock.own_parameters`) train.
    trains_new_parameters: bool = True
    #: Whether the backbone adds a temporal embedding unless told.
    temporal_embedding: bool = True
    #: What one drop-path draw covers, per branch, in the original AIM
    #: code's model of this family (axes of ``[B, T, N, D]``,
    #: :class:`~..layers.BranchDropPath`): what ``drop_path_axis='original'``
    #: draws. A family sets its own where its original ran otherwise. The
    #: default is the original's CLIP ViT (``ViT_CLIP``): its blocks run
    #: sequence-first, ``[N, B*T, D]``, and timm's ``DropPath`` draws along
    #: the first axis, so one mask per token position, shared by every clip
    #: and frame of the batch. Its ImageNet ViT (``ViT_ImageNet``, our
    #: :class:`~.TimmViT`) ran batch-first, ``[B*T, N, D]``: one mask per
    #: frame; its Swin is :class:`~.TimmSwin`'s. Families the original never
    #: had (EVA, BEiT) keep this default.
    original_drop_path: Dict[str, Tuple[str, ...]] = dict(
        temporal=('token', ), joint=('token', ))

    def __init__(self, num_frames: int) -> None:
        self.num_frames = num_frames
        #: Time steps ``T'`` the blocks see (frames, or tubelets).
        self.time_steps = num_frames

    # ---------------------------------------------------------- building
    def build(self) -> nn.Module:
        """The plain image model, randomly initialised as its authors do."""
        raise NotImplementedError

    def stages(self, model: nn.Module) -> List[Stage]:
        """The image model's stages: ``(downsample, blocks)`` pairs."""
        raise NotImplementedError

    def check(self, model: nn.Module) -> None:
        """Raise :class:`UnsupportedImageModelError` (saying why) for a
        model this family cannot adapt. By default: every block must be of
        a type in :attr:`block_types`."""
        types = sorted(t.__name__ for t in self.block_types)
        for s, (_, blocks) in enumerate(self.stages(model)):
            for i, block in enumerate(blocks):
                if type(block) not in self.block_types:
                    raise UnsupportedImageModelError(
                        f'AIM cannot adapt {self.describe()}: block {i} of '
                        f'stage {s} is a {type(block).__name__}; '
                        f'{type(self).__name__} adapts {types}')

    def adapt_block(self, block: nn.Module, stage: int, index: int,
                    **aim_kwargs) -> AdaptedBlock:
        """``block`` with AIM's adaptations (its own layers kept).

        Args:
            block (nn.Module): The image model's block.
            stage (int): Its stage.
            index (int): Its index in the stage.
            **aim_kwargs: The adaptation's arguments
                (:class:`~..layers.AdaptedBlock`).
        """
        return self.block_types[type(block)].adapt(block, self.time_steps,
                                                    **aim_kwargs)

    # ----------------------------------------------------------- forward
    def embed(self, model: nn.Module, x: torch.Tensor
              ) -> Tuple[torch.Tensor, dict]:
        """Tokens of a batch of clips.

        Args:
            x (torch.Tensor): Clips ``[B, 3, T, H, W]``.

        Returns:
            tuple: Tokens ``[B*T', ..., D]`` (the time steps of a clip
            consecutive), and the keyword arguments every block takes in
            this forward (EVA's rotary embedding).
        """
        raise NotImplementedError

    def pre_blocks(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """What runs between the embedding (and AIM's temporal embedding)
        and the first block."""
        return x

    def output(self, model: nn.Module, x: torch.Tensor,
               batch: int) -> torch.Tensor:
        """The backbone's output from the last block's tokens: ``[B, D,
        T']`` (a feature per time step) or ``[B, C, T', H', W']``."""
        raise NotImplementedError

    # ------------------------------------------------------------- facts
    def facts(self, model: nn.Module) -> ImageModelFacts:
        """What AIM reads of the built image model (widths, input size,
        output norms)."""
        raise NotImplementedError

    # ----------------------------------------------------------- weights
    def read(self, path: str) -> StateDict:
        """The state dict of an image-model file, read safely, unwrapped,
        ``module.`` stripped once (no conversion).

        Raises:
            FileNotFoundError: No such file, with :meth:`weights_advice`.
        """
        if '://' not in path and not os.path.isfile(path):
            raise FileNotFoundError(
                2, f'image-model weights not found. {self.weights_advice()}',
                path)
        return strip_prefix(unwrap(read_checkpoint(path), name=path))

    def weights_advice(self) -> str:
        """Where the image model's weights come from (for a missing file)."""
        return ('Place the image model\'s weights there, or set '
                'model.backbone.pretrained (docs/model.md).')

    def convert(self, state_dict: StateDict, model: nn.Module,
                name: str) -> StateDict:
        """A released state dict in the image model's own names and sizes.

        Pure: recognises the file's layout, refuses one of another model
        (:class:`~mmaction_aim.checkpoint.ImageModelMismatchError`, saying
        what the file is for), renames and resizes. ``model`` is only read
        for its sizes (it may be on the ``meta`` device).
        """
        return state_dict

    def resize(self, state_dict: StateDict, model: nn.Module) -> StateDict:
        """The image model's state dict with its position tables resized to
        ``model``'s (a checkpoint trained at another resolution); pure. By
        default unchanged."""
        return state_dict

    # ------------------------------------------------------------ configs
    @classmethod
    def tiny_config(cls, cfg: dict, width: int, depth: int) -> dict:
        """The family's config (an ``image_model`` dict) of the same model
        shrunk to ``depth`` blocks (per stage) of width ``width`` and two
        heads, for trials on a CPU (``tools/train.py --shrink``)."""
        raise NotImplementedError(f'{cls.__name__} has no tiny version')

    @classmethod
    def config_for_size(cls, cfg: dict, size: int) -> dict:
        """The family's config (an ``image_model`` dict) for frames of
        ``size`` pixels."""
        raise NotImplementedError(
            f'{cls.__name__} cannot be built for another frame size')

    def describe(self) -> str:
        """The image model, in a few words, for messages."""
        return type(self).__name__

    def identity(self) -> Dict[str, str]:
        """What identifies the image model (recorded in adapter-only
        checkpoints): the family and its model name."""
        return dict(family=type(self).__name__, name=self.describe())


def blocks_of(stages: Sequence[Stage]) -> Iterator[nn.Module]:
    """Every block of ``stages``, in order."""
    for _, blocks in stages:
        yield from blocks
