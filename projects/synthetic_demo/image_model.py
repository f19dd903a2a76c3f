"""Pre-training the demo's image models: tiny ViTs of two families.

Each model learns *what* is in a still image (the shape and colour of an
object, :func:`projects.synthetic_demo.synthetic.make_image_batch`). It
never sees a video, so it knows nothing about time.

* ``'clip'``: CLIP's architecture, saved in OpenAI CLIP's key layout
  (``visual.conv1.weight``, ...,
  ``visual.transformer.resblocks.N.attn.in_proj_weight``, ...,
  ``visual.proj``), loaded by the ``CLIPViT`` family as real CLIP weights
  are;
* ``'timm'``: a timm Vision Transformer (no pre-norm, exact GELU, biased
  patch embedding, ``norm`` before the class token), saved as a timm
  ``.safetensors`` file, loaded by the ``TimmViT`` family through timm's
  checkpoint filter as a real timm file is.
"""
import time
from typing import Callable, Dict, Optional

import numpy as np
import torch
from torch import nn

from .synthetic import COLOURS, SHAPES, image_classes, make_image_batch

# The demo's image model: CLIP ViT with patch 8, width 64, 4 blocks, 4 heads
# on 32x32 images (16 patches + the class token), projection to 64.
DEMO_ARCH = dict(patch_size=8, width=64, layers=4, heads=4)
DEMO_INPUT_RESOLUTION = 32
DEMO_EMBED_DIM = 64
# CLIP's normalisation on the 0-255 scale (as in the demo configs).
CLIP_MEAN = (122.769, 116.74, 104.04)
CLIP_STD = (68.493, 66.63, 70.321)

# The timm demo model: timm's ViT at the same size as the CLIP one.
DEMO_TIMM_NAME = 'vit_tiny_patch16_224'
DEMO_TIMM_KWARGS = dict(img_size=32, patch_size=8, embed_dim=64, depth=4,
                        num_heads=4)


def _plain_encoder(image_model: dict) -> nn.Module:
    """An image encoder: AIM's backbone without adapters, one frame
    (``[B, 3, 1, H, W]`` -> ``[B, D, 1]``)."""
    from mmaction_aim.models import AIMBackbone

    return AIMBackbone(image_model, num_frames=1, adapters=(),
                       temporal_embedding=False, freeze_image_model=False)


def build_image_encoder(arch: Optional[Dict] = None,
                        input_resolution: int = DEMO_INPUT_RESOLUTION
                        ) -> nn.Module:
    """A plain CLIP image encoder."""
    return _plain_encoder(dict(type='CLIPViT', arch=dict(arch or DEMO_ARCH),
                               input_resolution=input_resolution))


def build_timm_image_encoder() -> nn.Module:
    """A plain timm ViT image encoder."""
    return _plain_encoder(dict(type='TimmViT', model_name=DEMO_TIMM_NAME,
                               timm_kwargs=dict(DEMO_TIMM_KWARGS)))


def timm_mean_std() -> tuple:
    """The timm demo model's normalisation (its pretrained config's)."""
    from mmaction_aim.models.families import build_family

    return build_family(dict(type='TimmViT', model_name=DEMO_TIMM_NAME),
                        num_frames=1).normalization


class ImageClassifier(nn.Module):
    """Image tower (encoder + ``proj``) with a linear classifier.

    Args:
        encoder (nn.Module): ``[B, 3, 1, H, W]`` -> ``[B, D, 1]``.
        width (int): ``D``.
        embed_dim (int): Width of ``proj``'s output.
        num_classes (int): Classes of the still images.
        mean (tuple): Normalisation mean, 0-255 scale. Defaults to CLIP's.
        std (tuple): Normalisation std, 0-255 scale. Defaults to CLIP's.
    """

    def __init__(self, encoder: nn.Module, width: int, embed_dim: int,
                 num_classes: int, mean=CLIP_MEAN, std=CLIP_STD) -> None:
        super().__init__()
        self.encoder = encoder
        self.proj = nn.Parameter(width**-0.5 * torch.randn(width, embed_dim))
        self.fc = nn.Linear(embed_dim, num_classes)
        self.register_buffer('mean', torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer('std', torch.tensor(std).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``uint8`` images ``[B, H, W, 3]`` -> logits ``[B, num_classes]``."""
        x = (images.permute(0, 3, 1, 2).float() - self.mean) / self.std
        feats = self.encoder(x.unsqueeze(2))  # [B, D, 1] (one frame)
        feats = feats.reshape(feats.shape[0], -1)  # [B, D]
        return self.fc(feats @ self.proj)

    def image_state_dict(self) -> Dict[str, torch.Tensor]:
        """The encoder's image model under its own names."""
        prefix = 'image_model.'
        return {
            k[len(prefix):]: v.detach().clone().contiguous()
            for k, v in self.encoder.state_dict().items()
            if k.startswith(prefix)
        }

    def clip_state_dict(self) -> Dict[str, torch.Tensor]:
        """The image tower in OpenAI CLIP's layout (``visual.*`` keys)."""
        state = {f'visual.{k}': v
                 for k, v in self.image_state_dict().items()}
        state['visual.proj'] = self.proj.detach().clone().contiguous()
        return state

    def timm_state_dict(self) -> Dict[str, torch.Tensor]:
        """The image model in timm's own layout (what ``timm.create_model``
        builds, without a classifier)."""
        return self.image_state_dict()


def pretrain_image_model(
        steps: int = 1500, batch_size: int = 64, lr: float = 1e-3,
        seed: int = 0, eval_images: int = 1024,
        encoder_builder: Optional[Callable[[], nn.Module]] = None,
        log: Callable[[str], None] = print,
        family: str = 'clip') -> Dict:
    """Train the image model on freshly rendered still images.

    Single-threaded, seeded and with deterministic algorithms, so a seed
    gives the same weights on a given machine and PyTorch build.

    Args:
        steps (int): Optimisation steps (every batch is new images).
        batch_size (int): Images per step.
        lr (float): Peak AdamW learning rate (warm-up, then cosine).
        seed (int): Seed of the images and of the initial weights.
        eval_images (int): Held-out images for the reported accuracy.
        encoder_builder (callable, optional): Returns the encoder; defaults
            to the family's (:func:`build_image_encoder`,
            :func:`build_timm_image_encoder`).
        log (callable): Progress printer.
        family (str): ``'clip'`` or ``'timm'``. Defaults to ``'clip'``.

    Returns:
        dict: ``state_dict`` (the family's layout), ``accuracy`` (held
        out), ``classes`` and ``seconds``.
    """
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if family not in ('clip', 'timm'):
        raise ValueError(f'family must be clip or timm, got {family!r}')
    default_builder = build_image_encoder if family == 'clip' else \
        build_timm_image_encoder
    encoder = (encoder_builder or default_builder)()
    num_classes = len(SHAPES) * len(COLOURS)
    mean, std = (CLIP_MEAN, CLIP_STD) if family == 'clip' else \
        timm_mean_std()
    model = ImageClassifier(encoder, DEMO_ARCH['width'], DEMO_EMBED_DIM,
                            num_classes, mean, std)
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or 'embedding' in name or 'token' in name
         or 'pos_embed' in name else decay).append(p)
    optim = torch.optim.AdamW([dict(params=decay, weight_decay=0.05),
                               dict(params=no_decay, weight_decay=0.)], lr=lr)
    warmup = max(steps // 20, 1)
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min((s + 1) / warmup, 0.5 * (1 + np.cos(
            np.pi * min(s, steps) / steps))))
    eval_x, eval_y = make_image_batch(np.random.default_rng(seed + 10**6),
                                      eval_images)
    eval_x, eval_y = torch.from_numpy(eval_x), torch.from_numpy(eval_y)

    def evaluate() -> float:
        model.eval()
        with torch.no_grad():
            pred = torch.cat([model(eval_x[i:i + 256]).argmax(1)
                              for i in range(0, len(eval_x), 256)])
        model.train()
        return (pred == eval_y).float().mean().item()

    start = time.time()
    model.train()
    for step in range(1, steps + 1):
        x, y = make_image_batch(rng, batch_size)
        loss = nn.functional.cross_entropy(model(torch.from_numpy(x)),
                                           torch.from_numpy(y))
        optim.zero_grad()
        loss.backward()
        optim.step()
        sched.step()
        if step % 100 == 0 or step == steps:
            log(f'step {step}/{steps}  loss {loss.item():.4f}  '
                f'lr {sched.get_last_lr()[0]:.2e}  '
                f'{time.time() - start:.0f}s')
    accuracy = evaluate()
    log(f'held-out accuracy on {eval_images} images '
        f'({num_classes} shape x colour classes): {accuracy:.4f}')
    state = model.clip_state_dict() if family == 'clip' else \
        model.timm_state_dict()
    return dict(state_dict=state, accuracy=accuracy,
                classes=image_classes(),
                seconds=time.time() - start)
