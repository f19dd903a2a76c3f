"""An image-model family registered from outside mmaction_aim, as another
package would: timm's distilled DeiT (a class token and a distillation
token; its output averages both), which no family of ours adapts. A config
selects it with ``custom_imports=dict(imports=['external_family'])`` and
``image_model=dict(type='ExternalDistilledViT', ...)``."""
from timm.models.deit import VisionTransformerDistilled

from mmaction_aim.models.families import FAMILIES, TimmViT


@FAMILIES.register_module()
class ExternalDistilledViT(TimmViT):
    """timm's :class:`VisionTransformerDistilled`: everything else is
    timm's VisionTransformer's (blocks, embedding, output, weights)."""

    model_cls = VisionTransformerDistilled
