"""AIMViT with straightforward blocks: the performance baseline."""
from mmaction.registry import MODELS
from ..layers.plain_aim_block import PlainAIMBlock
from .aim_vit import AIMViT


@MODELS.register_module()
class PlainAIMViT(AIMViT):
    """:class:`AIMViT` built from
    :class:`~mmaction_aim.models.layers.PlainAIMBlock`.

    The same model, parameters and state-dict keys, computed the
    straightforward way (``nn.MultiheadAttention``, regrouping copies, plain
    autograd). It exists to measure :class:`AIMViT` against
    (``tools/analysis/benchmark.py --variants plain aim``) and to check its
    gradients; train with :class:`AIMViT`. ``recompute_frozen`` has no
    effect here.
    """

    block_cls = PlainAIMBlock
