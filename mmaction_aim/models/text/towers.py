"""What an open_clip image-text model's config says about its text side.

:func:`text_tower_spec` reads an open_clip model config (a name of
``open_clip.list_models()``, or the config dict itself) into a
:class:`TextTowerSpec`: the text tower to build, the joint embedding's
width, where the image model's projection into that space lies in the
model's weights file, whether the model has a logit bias (SigLIP), and its
tokenizer. Nothing is read from disk but open_clip's own config files.

:func:`build_text_tower` builds the text tower alone, randomly initialised,
with open_clip's builder of it (``open_clip.model._build_text_tower``, the
one open_clip's ``CLIP`` and ``CustomTextCLIP`` use; private, and checked
by ``tests/test_text_head.py``), so that the weights of the model's image
tower are never allocated.
"""
import copy
import dataclasses
from typing import Optional, Union

from torch import nn

from ...utils.errors import BadInputError

#: open_clip's vision-tower poolings that carry their own projection
#: (``TimmModel``'s attention pools), which AIM's backbones do not compute.
CUSTOM_POOLS = ('abs_attn', 'rot_attn')


class NoTextTowerError(BadInputError):
    """An image model (or an image-text model's config) that has no text
    tower AIM's text head can use, with the reason."""


@dataclasses.dataclass(frozen=True)
class Projection:
    """Where the image tower's projection into the joint space lies in an
    open_clip / OpenAI weights file.

    Attributes:
        weight (str): The weight's key.
        bias (str, optional): The bias's key, or None (no bias).
        transposed (bool): The weight is stored ``[width, embed_dim]``
            (CLIP's ``visual.proj``, applied as ``x @ proj``) rather than as
            a Linear layer's ``[embed_dim, width]``.
    """

    weight: str
    bias: Optional[str] = None
    transposed: bool = False


@dataclasses.dataclass(frozen=True)
class TextTowerSpec:
    """The text side of an open_clip image-text model.

    Attributes:
        name (str): The model's open_clip name (or ``'custom config'``).
        embed_dim (int): Width of the joint image-text space.
        text_cfg (dict): open_clip's ``text_cfg`` (``CLIPTextCfg`` fields).
        vision_cfg (dict): open_clip's ``vision_cfg`` (for pairing the text
            tower with AIM's image model).
        quick_gelu (bool): The towers use QuickGELU (OpenAI, DFN, MetaCLIP
            weights) rather than exact GELU.
        projection (Projection, optional): The image tower's projection
            into the joint space; None: its features are in that space
            already (SigLIP's attention-pool output).
        logit_bias (bool): The model adds a learnt logit bias (SigLIP).
    """

    name: str
    embed_dim: int
    text_cfg: dict
    vision_cfg: dict
    quick_gelu: bool
    projection: Optional[Projection]
    logit_bias: bool

    @property
    def context_length(self) -> int:
        """Tokens per text."""
        return int(self.text_cfg.get('context_length', 77))

    @property
    def hf_tokenizer(self) -> Optional[str]:
        """The Hugging Face tokenizer the text tower reads (SigLIP, SigLIP
        2), or None: open_clip's own CLIP tokenizer, shipped with it."""
        return self.text_cfg.get('hf_tokenizer_name') or None

    @property
    def tokenizer_kwargs(self) -> dict:
        """Arguments of the tokenizer (its text cleaning, ...)."""
        return dict(self.text_cfg.get('tokenizer_kwargs') or {})

    @property
    def timm_model(self) -> Optional[str]:
        """The timm model of the image tower, or None (open_clip's own
        vision transformer, CLIP's)."""
        return self.vision_cfg.get('timm_model_name') or None


def open_clip_config(model: Union[str, dict]) -> dict:
    """An open_clip model config: the one open_clip ships under ``model``,
    or ``model`` itself (a dict with ``embed_dim``, ``vision_cfg``,
    ``text_cfg``).

    Raises:
        NoTextTowerError: open_clip knows no such name.
    """
    if isinstance(model, dict):
        missing = {'embed_dim', 'vision_cfg', 'text_cfg'} - set(model)
        if missing:
            raise BadInputError(f'an open_clip model config needs '
                                f'{sorted(missing)} (has {sorted(model)})')
        return copy.deepcopy(dict(model))
    import open_clip
    cfg = open_clip.get_model_config(model)
    if cfg is None:
        raise NoTextTowerError(
            f'open_clip has no model {model!r}: give a name of '
            'open_clip.list_models() (e.g. ViT-B-16-quickgelu for OpenAI\'s '
            'CLIP ViT-B/16, ViT-B-16-SigLIP2, PE-Core-B-16)')
    return cfg


def text_tower_spec(model: Union[str, dict]) -> TextTowerSpec:
    """The :class:`TextTowerSpec` of an open_clip model.

    Args:
        model (str | dict): An open_clip model name
            (``'ViT-B-16-quickgelu'``, ``'ViT-B-16-SigLIP2'``,
            ``'PE-Core-B-16'``, ...) or its config dict.

    Returns:
        TextTowerSpec: The text side.

    Raises:
        NoTextTowerError: A model whose text tower or image projection AIM's
            text head cannot build (a Hugging Face text encoder, an
            attention-pool or MLP projection of its image tower), in one
            sentence.
    """
    cfg = open_clip_config(model)
    name = model if isinstance(model, str) else 'custom config'
    text, vision = dict(cfg['text_cfg']), dict(cfg['vision_cfg'])
    if text.get('hf_model_name'):
        raise NoTextTowerError(
            f'open_clip {name}\'s text tower is the Hugging Face model '
            f'{text["hf_model_name"]}, which AIM\'s text head does not build '
            '(it builds open_clip\'s own text transformers: CLIP, SigLIP, '
            'PE-Core)')
    return TextTowerSpec(
        name=name, embed_dim=int(cfg['embed_dim']), text_cfg=text,
        vision_cfg=vision, quick_gelu=bool(cfg.get('quick_gelu', False)),
        projection=_projection(vision, name),
        logit_bias=cfg.get('init_logit_bias') is not None)


def _projection(vision: dict, name: str) -> Optional[Projection]:
    """The image tower's projection, as open_clip builds it from
    ``vision_cfg``."""
    if not vision.get('timm_model_name'):
        if isinstance(vision.get('layers'), (list, tuple)):
            raise NoTextTowerError(
                f'open_clip {name}\'s image tower is a ResNet, which no AIM '
                'image-model family adapts')
        if vision.get('attentional_pool') or \
                vision.get('pool_type', 'tok') != 'tok':
            raise NoTextTowerError(
                f'open_clip {name}\'s image tower pools its tokens otherwise '
                'than by its class token, which is what AIM\'s CLIPViT '
                'family outputs')
        return Projection('visual.proj', transposed=True)
    pool = vision.get('timm_pool', 'avg')
    proj = vision.get('timm_proj', 'linear')
    if pool in CUSTOM_POOLS or proj == 'mlp':
        raise NoTextTowerError(
            f'open_clip {name} projects its image features by '
            f'{"an attention pool" if pool in CUSTOM_POOLS else "an MLP"} '
            'outside the timm model, which AIM\'s backbones do not compute')
    if proj == 'none':
        return None
    if proj == 'linear':
        return Projection('visual.head.proj.weight',
                          'visual.head.proj.bias'
                          if vision.get('timm_proj_bias') else None)
    # No projection of open_clip's own: the timm model's classifier, built
    # with embed_dim outputs, is the projection (PE-Core, EVA-02-CLIP).
    return Projection('visual.trunk.head.weight', 'visual.trunk.head.bias')


def build_text_tower(spec: TextTowerSpec) -> nn.Module:
    """The text tower of ``spec``, randomly initialised, in eval mode.

    Its ``forward(tokens)`` gives the texts' embeddings in the joint space
    (not normalised); its state dict uses the names of open_clip's
    ``text.*`` (``token_embedding``, ``positional_embedding``,
    ``transformer.resblocks.N``, ``ln_final``, ``text_projection``).
    """
    from open_clip.model import _build_text_tower
    return _build_text_tower(spec.embed_dim, dict(spec.text_cfg),
                             quick_gelu=spec.quick_gelu).eval()
