"""Builders shared by the model tests: tiny AIM models and CLIP files."""
import json
import math
import os.path as osp
import re

import torch
from mmengine.registry import init_default_scope

from mmaction_aim.analysis import build_model

TINY_ARCH = dict(patch_size=8, width=32, layers=2, heads=2)


def clip_family(arch=TINY_ARCH, input_resolution=16):
    """The ``image_model`` dict of a CLIP backbone."""
    return dict(type='CLIPViT', arch=arch, input_resolution=input_resolution)


def clip_backbone(pretrained=None, arch=TINY_ARCH, input_resolution=16,
                  num_frames=4, init=True, **kwargs):
    """An AIMBackbone on a (tiny) CLIP, initialised (``pretrained`` read)."""
    from mmaction_aim.models import AIMBackbone
    model = AIMBackbone(clip_family(arch, input_resolution),
                        num_frames=num_frames,
                        pretrained=None if pretrained is None else
                        str(pretrained), **kwargs)
    if init:
        model.init_weights()
    return model


def build_recognizer(arch=TINY_ARCH, input_resolution=16, num_frames=4,
                     num_classes=5, backbone_extra=None, image_model=None,
                     **kwargs):
    """An AIMRecognizer with a tiny CLIP backbone (or ``image_model``)."""
    init_default_scope('mmaction')
    image_model = image_model or clip_family(arch, input_resolution)
    backbone = dict(type='AIMBackbone', image_model=image_model,
                    num_frames=num_frames)
    backbone.update(backbone_extra or {})
    from mmaction_aim.models.families import build_family
    family = build_family(image_model, num_frames)
    with torch.device('meta'):
        width = family.facts(family.build()).width
    cfg = dict(type='AIMRecognizer', backbone=backbone,
               cls_head=dict(type='AIMHead', num_classes=num_classes,
                             in_channels=width, average_clips='prob'))
    cfg.update(kwargs)
    return build_model(cfg, keep_pretrained=True)


def tiny_open_clip(width=32, layers=2, patch_size=8, image_size=16,
                   heads=2, seed=0):
    """A randomly initialised open_clip CLIP (no download)."""
    import open_clip
    torch.manual_seed(seed)
    model = open_clip.model.CLIP(
        embed_dim=16, quick_gelu=True,  # OpenAI CLIP's activation
        vision_cfg=dict(layers=layers, width=width, patch_size=patch_size,
                        image_size=image_size, head_width=width // heads),
        text_cfg=dict(context_length=8, vocab_size=64, width=16, heads=2,
                      layers=1))
    # open_clip zero-initialises nothing we rely on; perturb LayerNorms so
    # that a wrongly skipped affine transform is detected.
    with torch.no_grad():
        for module in model.visual.modules():
            if isinstance(module, torch.nn.LayerNorm):
                module.weight.add_(torch.randn_like(module.weight) * 0.1)
                module.bias.add_(torch.randn_like(module.bias) * 0.1)
    return model.eval()


def open_clip_frame_features(model, frames):
    """CLIP's class-token features after ``ln_post`` for ``[N, 3, H, W]``."""
    captured = {}
    handle = model.visual.ln_post.register_forward_hook(
        lambda mod, inp, out: captured.setdefault('out', out))
    with torch.no_grad():
        model.visual(frames)
    handle.remove()
    out = captured['out']
    return out[:, 0] if out.dim() == 3 else out


def save_torchscript_clip(model, path, image_size, half=True):
    """Write ``model`` as OpenAI did: a traced TorchScript archive (fp16)."""
    image = torch.randn(1, 3, image_size, image_size)
    text = torch.randint(0, model.vocab_size, (1, model.context_length))
    with torch.no_grad():
        traced = torch.jit.trace(model, (image, text), check_trace=False)
    if half:
        traced = traced.half()
    torch.jit.save(traced, str(path))
    return path


def convert_with_the_tool(state_dict, tmp_path):
    """Wrap ``state_dict`` as the original release does, convert it with
    ``tools/convert/convert_official_aim.py``; the converted state dict and
    what the tool printed."""
    from conftest import call_tool
    src, dst = tmp_path / 'official.pth', tmp_path / 'converted.pth'
    torch.save(dict(state_dict=state_dict, meta=dict(epoch=30)), src)
    out = call_tool(['convert/convert_official_aim.py', str(src), str(dst)])
    return torch.load(dst, weights_only=True)['state_dict'], out.stdout


REFERENCE_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                         'data', 'aim_reference')


def official_key_shapes(key_list: str, num_classes: int = 400):
    """``{key: '[d0, d1, ...]'}`` of one of the original's key lists
    (``tests/data/aim_reference/official_keys_*.txt``: every key with its
    shape), ``NUM_CLASSES`` filled in."""
    shapes = {}
    with open(osp.join(REFERENCE_DIR, key_list)) as f:
        for line in f:
            if line.strip():
                key, shape = re.match(r'^(\S+)\s+(\[.*\])$',
                                      line.strip()).groups()
                shapes[key] = shape.replace('NUM_CLASSES', str(num_classes))
    return shapes


def official_parameter_counts(key_list: str, num_classes: int = 400):
    """``(trainable, total)`` parameters of the original's model, from its
    key list and its training rule: the adapters, the temporal embedding,
    ``ln_post`` and the head train, nothing else."""
    total = trainable = 0
    for key, shape in official_key_shapes(key_list, num_classes).items():
        n = math.prod(json.loads(shape))
        total += n
        if ('Adapter' in key or 'ln_post' in key
                or 'temporal_embedding' in key or 'cls_head' in key):
            trainable += n
    return trainable, total


def assert_reproduces_reference(model, state_dict, ref, atol):
    """Load ``state_dict`` strictly; the backbone's features and the class
    scores on the reference inputs equal the original's within ``atol``."""
    model.load_state_dict(state_dict, strict=True)
    model.eval()
    with torch.no_grad():
        features = model.backbone(ref['inputs'])
        logits = model(ref['inputs'][:, None], mode='tensor', stage='head')
    torch.testing.assert_close(features, ref['features'], atol=atol, rtol=0)
    torch.testing.assert_close(logits, ref['logits'], atol=atol, rtol=0)


def clips(batch=2, views=1, frames=4, size=16, seed=0):
    """Random clips ``[B, V, 3, T, H, W]``, seeded."""
    torch.manual_seed(seed)
    return torch.randn(batch, views, 3, frames, size, size)


def randomise_adapters(model, temporal_embedding=True):
    """Give zero-initialised adapters (and the temporal embedding)
    non-zero weights, as after training."""
    from mmaction_aim.models.layers import Adapter
    torch.manual_seed(123)
    backbone = getattr(model, 'backbone', model)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, Adapter):
                module.fc2.weight.normal_(std=0.1)
                module.fc2.bias.normal_(std=0.1)
        if temporal_embedding and backbone.temporal_embedding is not None:
            backbone.temporal_embedding.normal_(std=0.1)


def saved_bytes_of_forward(model):
    """What autograd keeps for one training forward, parameters excluded."""
    from mmaction_aim.models.utils import saved_activation_bytes
    model.train()
    return saved_activation_bytes(
        model, lambda: model(clips(), mode='tensor', stage='head'))


class RecordedOps:
    """Context manager recording the ATen operators that run inside it
    (``.ops``: their names, in order)."""

    def __enter__(self):
        from torch.utils._python_dispatch import TorchDispatchMode
        ops = self.ops = []

        class Record(TorchDispatchMode):

            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                ops.append(str(func))
                return func(*args, **(kwargs or {}))

        self._mode = Record()
        self._mode.__enter__()
        return self

    def __exit__(self, *exc):
        return self._mode.__exit__(*exc)


_TIMM_TINY = dict(embed_dim=32, depth=2, num_heads=2)

#: One tiny instance of every image-model family: ``image_model`` dict,
#: frame size, frames per clip.
TINY_FAMILIES = {
    'clip': (clip_family(), 16, 4),
    'timm_vit': (dict(type='TimmViT', model_name='deit3_base_patch16_224',
                      timm_kwargs=dict(_TIMM_TINY, img_size=32)), 32, 4),
    'timm_eva': (dict(type='TimmEva',
                      model_name='eva02_base_patch16_clip_224',
                      timm_kwargs=dict(_TIMM_TINY, img_size=32)), 32, 4),
    'timm_beit': (dict(type='TimmBeit', model_name='beit_base_patch16_224',
                       timm_kwargs=dict(_TIMM_TINY, img_size=32)), 32, 4),
    'timm_swin': (dict(type='TimmSwin',
                       model_name='swin_tiny_patch4_window7_224',
                       timm_kwargs=dict(img_size=56, embed_dim=32,
                                        depths=(2, 2), num_heads=(2, 4),
                                        window_size=7)), 56, 4),
}


def tiny_backbone(family: str, init=True, **kwargs):
    """An AIMBackbone of :data:`TINY_FAMILIES` ``family``."""
    from mmaction_aim.models import AIMBackbone
    image_model, _, frames = TINY_FAMILIES[family]
    kwargs.setdefault('num_frames', frames)
    if 'pretrained' in kwargs:
        kwargs['pretrained'] = str(kwargs['pretrained'])
    model = AIMBackbone(dict(image_model), **kwargs)
    if init:
        model.init_weights()
    return model


def image_model_file(family: str, path, seed=0):
    """A file of the family's (random) image model, as its authors release
    it: an OpenAI-layout CLIP state dict, or timm's ``.safetensors``."""
    from safetensors.torch import save_file
    torch.manual_seed(seed)
    backbone = tiny_backbone(family, init=False, adapters=(),
                             temporal_embedding=False)
    state = {k[len('image_model.'):]: v.detach().contiguous()
             for k, v in backbone.state_dict().items()}
    if family == 'clip':
        torch.save({f'visual.{k}': v for k, v in state.items()}, path)
    else:
        if family == 'timm_swin':  # timm's 2-D patch embedding
            key = 'patch_embed.proj.weight'
            state[key] = state[key].sum(2).contiguous()
        save_file(state, str(path))
    return path


def assert_adapters_see_time(backbone, clips, out, frame_effect=1e-4):
    """Trained adapters change ``backbone``'s output ``out`` on ``clips``
    (``[B, 3, T, H, W]``), and frame 0's feature moves when frame 2 does
    (the temporal adaptation), by more than ``frame_effect``."""
    from mmaction_aim.models.layers import Adapter
    with torch.no_grad():
        for module in backbone.modules():
            if isinstance(module, Adapter):
                module.fc1.weight.normal_(std=0.5)
                module.fc2.weight.normal_(std=0.5)
        moved = backbone(clips)
        other = clips.clone()
        other[:, :, 2] = torch.randn_like(other[:, :, 2])
        frame0 = backbone(other)[:, :, 0]
    assert (moved - out).abs().max() > 1e-3
    assert (frame0 - moved[:, :, 0]).abs().max() > frame_effect


def assert_steps_train_exactly_the_trainable(model, inputs, labels,
                                             steps=2):
    """``steps`` AdamW steps on ``inputs`` (``[B, V, 3, T, H, W]``): frozen
    parameters get no gradient, every trainable one a non-zero gradient by
    the last step (the adapters' ``fc2`` start at zero), and exactly the
    trainable parameters change."""
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optim = torch.optim.AdamW([p for p in model.parameters()
                               if p.requires_grad], lr=1e-2)
    for step in range(steps):
        optim.zero_grad()
        loss = torch.nn.functional.cross_entropy(
            model(inputs, mode='tensor', stage='head'), labels)
        loss.backward()
        for name, param in model.named_parameters():
            if not param.requires_grad:
                assert param.grad is None, name
            elif step == steps - 1:
                assert param.grad.abs().sum() > 0, name
        optim.step()
    for name, param in model.named_parameters():
        assert (not torch.equal(param, before[name])) == \
            param.requires_grad, name

