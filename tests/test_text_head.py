"""AIMTextHead: a classifier started from the class names.

On random weights of every image-text family with a text tower, written in
the layout users have (OpenAI's TorchScript release, open_clip files), the
recognizer's class scores at initialisation equal open_clip's own zero-shot
scores (``encode_image``, ``build_zero_shot_classifier``, logit scale and
bias) averaged over frames; the trained checkpoint holds no text weights;
bad inputs are refused in one sentence.
"""
import pytest
import torch

import mmaction_aim  # noqa: F401  (registrations)
from mmaction_aim.analysis import build_model
from mmaction_aim.checkpoint import read_checkpoint
from mmaction_aim.models.text import (LabelMapError, NoTextInFileError,
                                      NoTextTowerError, TextTowerMismatchError,
                                      TokenizerUnavailableError,
                                      build_tokenizer, check_pairing,
                                      readable_class_name, read_class_names,
                                      text_tower_spec)
from mmaction_aim.utils.errors import BadInputError
from models.helpers import save_torchscript_clip

open_clip = pytest.importorskip('open_clip')

NAMES = ['ApplyEyeMakeup', 'brush_hair', 'riding or walking with horse']
TEMPLATES = ['a video of a person {}.', 'a photo of {}.']
FRAMES, SIZE, WIDTH, EMBED = 4, 32, 32, 16


def _clip_tokenizer():
    from open_clip.tokenizer import SimpleTokenizer
    return SimpleTokenizer(context_length=16)


_TOKENIZER = []


def tokenize(texts):
    """open_clip's CLIP tokenizer at 16 tokens (a plain function, so that a
    config holding it is copied cheaply). SigLIP's own tokenizers are Hugging
    Face files, not here: its towers are checked on these token ids."""
    if not _TOKENIZER:
        _TOKENIZER.append(_clip_tokenizer())
    return _TOKENIZER[0](texts)


def _perturb_norms(model):
    """LayerNorms off their (1, 0) initialisation, so that a skipped affine
    transform shows."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.LayerNorm) and \
                    module.weight is not None:
                module.weight.add_(0.1 * torch.randn(
                    module.weight.shape, generator=gen))
                module.bias.add_(0.1 * torch.randn(module.bias.shape,
                                                   generator=gen))


def _clip_config(quick_gelu):
    return dict(embed_dim=EMBED, quick_gelu=quick_gelu,
                vision_cfg=dict(layers=2, width=WIDTH, head_width=16,
                                patch_size=16, image_size=SIZE),
                text_cfg=dict(context_length=16, vocab_size=49408,
                              width=32, heads=2, layers=2))


SIGLIP_TEXT = dict(no_causal_mask=True, proj_bias=True, pool_type='last',
                   norm_kwargs=dict(eps=1e-6))
TIMM_KWARGS = dict(embed_dim=WIDTH, depth=2, num_heads=2, img_size=SIZE)
#: family -> (timm model, AIM family, open_clip text_cfg extras, timm pool,
#: timm proj, logit bias) of open_clip's configs, shrunk.
TIMM_CASES = {
    'siglip': ('vit_base_patch16_siglip_224', 'TimmViT', SIGLIP_TEXT, 'map',
               'none', -10.),
    'siglip2': ('vit_base_patch16_siglip_224', 'TimmViT',
                dict(SIGLIP_TEXT, act_kwargs=dict(approximate='tanh')),
                'map', 'none', -10.),
    'pe-core': ('vit_pe_core_base_patch16_224', 'TimmEva', {}, 'map', None,
                None),
    'eva02-clip': ('eva02_base_patch16_clip_224', 'TimmEva', {}, 'token',
                   None, None),
}


def _timm_case(family):
    """open_clip's CustomTextCLIP of ``family`` shrunk (its timm image tower
    a tiny one of the same model), and its config."""
    import timm
    timm_name, aim_family, text_extra, pool, proj, bias = TIMM_CASES[family]
    vision = dict(timm_model_name=timm_name, timm_pool=pool, timm_proj=proj,
                  image_size=SIZE)
    cfg = dict(embed_dim=WIDTH, custom_text=True, init_logit_bias=bias,
               vision_cfg=vision,
               text_cfg=dict(context_length=16, vocab_size=49408, width=32,
                             heads=2, layers=2, **text_extra))
    with torch.device('meta'):  # open_clip's tower, a full-size trunk
        visual = open_clip.timm_model.TimmModel(
            timm_name, WIDTH, image_size=SIZE, pool=pool, proj=proj)
    # The same timm model, small, built as open_clip's TimmModel builds it.
    visual.trunk = timm.create_model(
        timm_name, num_classes=0 if proj == 'none' else WIDTH,
        global_pool=pool, **TIMM_KWARGS)
    model = open_clip.model.CustomTextCLIP(
        WIDTH, dict(layers=1, width=32, head_width=16, patch_size=16,
                    image_size=SIZE), cfg['text_cfg'],
        init_logit_bias=bias)
    model.visual = visual
    image_model = dict(type=aim_family, model_name=timm_name,
                       timm_kwargs=TIMM_KWARGS)
    return model, cfg, image_model


def _file(family, tmp_path):
    """A random image-text model of ``family``, saved as users have it; the
    model (open_clip), its config, the backbone's image_model, the file and
    the tokenizer the head is given."""
    torch.manual_seed(0)
    if family in ('openai-clip', 'open_clip-clip'):
        openai = family == 'openai-clip'
        cfg = _clip_config(quick_gelu=openai)
        model = open_clip.model.CLIP(**cfg)
        image_model = dict(type='CLIPViT', arch=dict(
            patch_size=16, width=WIDTH, layers=2, heads=2,
            act='quick_gelu' if openai else 'gelu'), input_resolution=SIZE)
        tokenizer = None  # the model's own: open_clip's, shipped with it
    else:
        model, cfg, image_model = _timm_case(family)
        tokenizer = tokenize
    _perturb_norms(model)
    with torch.no_grad():
        model.logit_scale.fill_(1.7)
    model.eval()
    if family == 'openai-clip':  # OpenAI's release: TorchScript, float16
        model.half().float()
        path = save_torchscript_clip(model, tmp_path / 'ViT-B-16.pt', SIZE)
        model.float()  # the trace halved it; its values are float16's
    elif family == 'open_clip-clip':
        from safetensors.torch import save_file
        path = tmp_path / 'open_clip_model.safetensors'
        save_file(model.state_dict(), str(path))
    else:
        path = tmp_path / 'open_clip_pytorch_model.bin'
        torch.save(model.state_dict(), path)
    return model, cfg, image_model, str(path), tokenizer


def _recognizer(image_model, cfg, path, tokenizer, class_names=NAMES,
                init=True, backbone_file=True):
    return build_model(dict(
        type='AIMRecognizer',
        backbone=dict(type='AIMBackbone', image_model=image_model,
                      num_frames=FRAMES,
                      pretrained=path if backbone_file else None),
        cls_head=dict(type='AIMTextHead', num_classes=len(NAMES),
                      in_channels=WIDTH, text_model=cfg, text_weights=path,
                      class_names=class_names, templates=TEMPLATES,
                      tokenizer=tokenizer, average_clips='prob')),
        keep_pretrained=True, init=init).eval()


def _zero_shot_reference(model, tokenizer, clips):
    """open_clip's zero-shot scores of every frame, averaged over frames."""
    from open_clip.zero_shot_classifier import build_zero_shot_classifier
    tokenizer = tokenizer or open_clip.get_tokenizer('ViT-B-16-quickgelu',
                                                     context_length=16)
    b, _, t = clips.shape[:3]
    with torch.no_grad():
        classifier = build_zero_shot_classifier(
            model, tokenizer, [readable_class_name(n) for n in NAMES],
            TEMPLATES, device='cpu', use_tqdm=False)  # [E, C]
        frames = clips.transpose(1, 2).flatten(0, 1)  # [B*T, 3, H, W]
        image = model.encode_image(frames, normalize=True)
        logits = model.logit_scale.exp() * image @ classifier
        if model.logit_bias is not None:
            logits = logits + model.logit_bias
    return logits.view(b, t, -1).mean(dim=1)  # [B, C]


FAMILIES = ['openai-clip', 'open_clip-clip', 'siglip', 'siglip2', 'pe-core',
            'eva02-clip']


@pytest.mark.filterwarnings('ignore::FutureWarning',
                            'ignore::torch.jit.TracerWarning')
@pytest.mark.parametrize('family', FAMILIES)
def test_scores_at_init_are_the_zero_shot_scores(family, tmp_path):
    model, cfg, image_model, path, tokenizer = _file(family, tmp_path)
    recognizer = _recognizer(image_model, cfg, path, tokenizer)
    clips = torch.randn(2, 3, FRAMES, SIZE, SIZE)
    with torch.no_grad():
        ours = recognizer(clips[:, None], mode='tensor', stage='head')
    reference = _zero_shot_reference(model, tokenizer, clips)
    diff = (ours - reference).abs().max().item()
    print(f'{family}: max |ours - open_clip zero-shot| = {diff:.3g}')
    assert diff <= 1e-5
    # Not equal by accident: the scores differ between classes and clips.
    assert reference.std() > 1e-2
    # The predictions (probabilities averaged over views) are those scores'.
    head = recognizer.cls_head
    assert torch.allclose(head.average_clip(ours, num_segs=1),
                          reference.softmax(dim=-1), atol=1e-6)


def test_checkpoint_holds_no_text_and_loads_without_the_text_file(tmp_path):
    model, cfg, image_model, path, tokenizer = _file('siglip2', tmp_path)
    recognizer = _recognizer(image_model, cfg, path, tokenizer)
    head_keys = {k for k in recognizer.state_dict()
                 if k.startswith('cls_head.')}
    assert head_keys == {'cls_head.logit_scale', 'cls_head.fc_cls.weight',
                         'cls_head.fc_cls.bias'}  # SigLIP: no projection
    assert not any(word in k for k in recognizer.state_dict()
                   for word in ('token_embedding', 'ln_final', 'text'))
    assert not any('token_embedding' in name
                   for name, _ in recognizer.named_modules())
    checkpoint = tmp_path / 'trained.pth'
    torch.save(dict(state_dict=recognizer.state_dict()), checkpoint)
    # A test run: built, never initialised, the text file and label map gone.
    missing = str(tmp_path / 'gone.bin')
    again = _recognizer(image_model, cfg, missing, tokenizer,
                        class_names=str(tmp_path / 'gone.txt'), init=False,
                        backbone_file=False)
    again.load_checkpoint(read_checkpoint(str(checkpoint)), name='trained')
    clips = torch.randn(1, 1, 3, FRAMES, SIZE, SIZE)
    with torch.no_grad():
        assert torch.equal(again(clips, mode='tensor', stage='head'),
                           recognizer(clips, mode='tensor', stage='head'))
    with pytest.raises(FileNotFoundError):  # it would have needed them
        again.cls_head.init_weights()


def test_fine_tuning_continues_from_the_text_classifier(tmp_path):
    """proj and fc_cls train (from text), logit_scale stays, the image model
    and the text tower's absence are untouched; every trainable parameter
    gets a gradient."""
    model, cfg, image_model, path, tokenizer = _file('openai-clip', tmp_path)
    recognizer = _recognizer(image_model, cfg, path, tokenizer).train()
    head = recognizer.cls_head
    assert {n for n, p in head.named_parameters() if p.requires_grad} == {
        'proj.weight', 'fc_cls.weight', 'fc_cls.bias'}
    before = {k: v.clone() for k, v in recognizer.state_dict().items()}
    # The projection is CLIP's visual.proj, the rows unit text embeddings.
    projection = model.visual.proj.detach().t()
    assert torch.equal(head.proj.weight, projection)
    assert torch.allclose(head.fc_cls.weight.norm(dim=1), torch.ones(3))
    assert head.logit_scale.item() == pytest.approx(
        model.logit_scale.exp().item())
    from mmaction.structures import ActionDataSample
    samples = [ActionDataSample().set_gt_label(i) for i in (0, 2)]
    inputs = torch.randn(2, 1, 3, FRAMES, SIZE, SIZE)
    loss = recognizer(inputs, samples, mode='loss')['loss_cls']
    loss.backward()
    for name, param in recognizer.named_parameters():
        if param.requires_grad and 'fc2' not in name:
            assert param.grad is not None, name
    optimizer = torch.optim.SGD(
        [p for p in recognizer.parameters() if p.requires_grad], lr=0.1)
    optimizer.step()
    after = recognizer.state_dict()
    changed = {k for k in after if not torch.equal(after[k], before[k])}
    assert {'cls_head.proj.weight', 'cls_head.fc_cls.weight',
            'cls_head.fc_cls.bias'} <= changed
    assert 'cls_head.logit_scale' not in changed
    assert not any(k.startswith('backbone.image_model.') and 'adapter'
                   not in k and 'ln_post' not in k for k in changed), changed


def test_a_label_map_of_another_class_count_is_refused(tmp_path):
    label_map = tmp_path / 'label_map.txt'
    label_map.write_text('ApplyEyeMakeup\nbrush_hair\n')
    with pytest.raises(LabelMapError,
                       match='names 2 classes but the head has '
                       'num_classes=3'):
        read_class_names(str(label_map), 3)
    assert read_class_names(str(label_map), 2) == ['ApplyEyeMakeup',
                                                   'brush_hair']
    model, cfg, image_model, path, tokenizer = _file('pe-core', tmp_path)
    with pytest.raises(LabelMapError, match=str(label_map)):
        _recognizer(image_model, cfg, path, tokenizer,
                    class_names=str(label_map))


def test_a_file_without_a_text_tower_is_refused(tmp_path):
    model, cfg, image_model, path, tokenizer = _file('siglip', tmp_path)
    visual_only = tmp_path / 'vision.pth'
    torch.save({k: v for k, v in model.state_dict().items()
                if k.startswith('visual.')}, visual_only)
    recognizer = _recognizer(image_model, cfg, path, tokenizer, init=False)
    recognizer.cls_head.text_weights = str(visual_only)
    with pytest.raises(NoTextInFileError, match='holds no text tower'):
        recognizer.cls_head.init_weights()
    hf = tmp_path / 'hf.pth'
    torch.save({'text_model.embeddings.token_embedding.weight':
                torch.zeros(2, 2),
                'vision_model.embeddings.patch_embedding.weight':
                torch.zeros(2, 2)}, hf)
    recognizer.cls_head.text_weights = str(hf)
    with pytest.raises(NoTextInFileError, match='Hugging Face transformers'):
        recognizer.cls_head.init_weights()


def test_a_text_tower_of_another_model_is_refused(tmp_path):
    from mmaction_aim.checkpoint import CheckpointMismatchError
    model, cfg, image_model, path, tokenizer = _file('open_clip-clip',
                                                     tmp_path)
    wider = dict(cfg, text_cfg=dict(cfg['text_cfg'], width=48))
    recognizer = _recognizer(image_model, wider, path, tokenizer, init=False)
    with pytest.raises(CheckpointMismatchError, match='shapes differ'):
        recognizer.cls_head.init_weights()


@pytest.mark.parametrize('config,text_model', [
    ('configs/aim_vitb_k400.py', 'ViT-B-16-quickgelu'),
    ('configs/aim_vitb-laion2b_k400.py', 'ViT-B-16'),
    ('configs/aim_vitl_k400.py', 'ViT-L-14-quickgelu'),
    ('configs/aim_siglip-vitb16_k400.py', 'ViT-B-16-SigLIP'),
    ('configs/aim_siglip2-vitb16_k400.py', 'ViT-B-16-SigLIP2'),
    ('configs/aim_pecore-vitb16_k400.py', 'PE-Core-B-16'),
    ('configs/aim_eva02-vitb16_k400.py', 'EVA02-B-16'),
])
def test_image_models_with_a_text_tower_pair_with_theirs(config, text_model):
    from conftest import REPO
    from mmengine.config import Config
    image_model = Config.fromfile(f'{REPO}/{config}').model.backbone \
        .image_model.to_dict()
    check_pairing(image_model, text_model)


@pytest.mark.parametrize('config,why', [
    ('configs/aim_dinov2-vitb14_k400.py', 'self-supervised (DINOv2)'),
    ('configs/aim_dinov3-vitb16_k400.py', 'self-supervised (DINOv3)'),
    ('configs/aim_vitb-in21k-augreg_k400.py', 'ImageNet-21K'),
    ('configs/aim_aimv2-vitl14_k400.py', 'AIMv2'),
    ('configs/aim_internvit-300m14_k400.py', 'InternViT'),
    ('configs/aim_beit-vitb16_k400.py', 'TimmBeit image models'),
    ('configs/aim_swinb_k400_32f.py', 'TimmSwin image models'),
])
def test_image_models_without_a_text_tower_are_refused(config, why):
    from conftest import REPO
    from mmengine.config import Config
    image_model = Config.fromfile(f'{REPO}/{config}').model.backbone \
        .image_model.to_dict()
    with pytest.raises(NoTextTowerError) as info:
        check_pairing(image_model, 'ViT-B-16-quickgelu')
    message = str(info.value)
    assert why in message and 'no text tower' in message
    assert 'use AIMHead' in message and '\n' not in message


@pytest.mark.parametrize('text_model,expected', [
    ('ViT-B-16', 'act quick_gelu vs gelu'),
    ('ViT-L-14-quickgelu', 'width 768 vs 1024'),
    ('ViT-B-16-SigLIP2', 'goes with timm vit_base_patch16_siglip_224'),
])
def test_a_text_model_of_another_image_model_is_refused(text_model,
                                                        expected):
    image_model = dict(type='CLIPViT', arch='ViT-B/16')
    with pytest.raises(TextTowerMismatchError, match=expected):
        check_pairing(image_model, text_model)
    siglip = dict(type='TimmViT',
                  model_name='vit_base_patch16_siglip_224.v2_webli')
    with pytest.raises(TextTowerMismatchError, match='ViT-B-16-SigLIP2'):
        check_pairing(siglip, 'PE-Core-B-16')


def test_what_open_clip_configs_say():
    """The projection, logit bias and tokenizer of each family, read from
    open_clip's own configs; the text tower builder is open_clip's."""
    clip = text_tower_spec('ViT-B-16-quickgelu')
    assert (clip.embed_dim, clip.quick_gelu, clip.logit_bias) == (512, True,
                                                                 False)
    assert clip.projection.weight == 'visual.proj' and \
        clip.projection.transposed and clip.hf_tokenizer is None
    siglip2 = text_tower_spec('ViT-B-16-SigLIP2')
    assert siglip2.projection is None and siglip2.logit_bias
    assert siglip2.hf_tokenizer == 'timm/ViT-B-16-SigLIP2'
    pe = text_tower_spec('PE-Core-B-16')
    assert (pe.projection.weight, pe.projection.bias) == (
        'visual.trunk.head.weight', 'visual.trunk.head.bias')
    assert pe.hf_tokenizer is None and pe.context_length == 32
    for name, why in (('nllb-clip-base-siglip', 'Hugging Face model'),
                      ('RN50', 'ResNet'), ('convnext_large_d', 'an MLP'),
                      ('no-such-model', 'no model')):
        with pytest.raises(NoTextTowerError, match=why):
            text_tower_spec(name)
    from open_clip.model import _build_text_tower  # noqa: F401  (private)


def test_siglip_tokenizer_needs_transformers_and_says_so(monkeypatch,
                                                         tmp_path):
    import importlib.util
    spec = text_tower_spec('ViT-B-16-SigLIP2')
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: None
                        if name == 'transformers' else real(name, *a))
    for given in (None, str(tmp_path)):
        with pytest.raises(TokenizerUnavailableError) as info:
            build_tokenizer(spec, given)
        assert 'pip install transformers' in str(info.value)
        assert 'timm/ViT-B-16-SigLIP2' in str(info.value)
    with pytest.raises(TokenizerUnavailableError, match='not a directory'):
        build_tokenizer(spec, str(tmp_path / 'missing'))
    # CLIP and PE-Core: open_clip's tokenizer, offline.
    tokens = build_tokenizer(text_tower_spec('PE-Core-B-16'))(['a b'])
    assert tokens.shape == (1, 32) and tokens[0, 0] == 49406


def test_class_names_as_words_and_templates():
    assert readable_class_name('ApplyEyeMakeup') == 'apply eye makeup'
    assert readable_class_name('YoYo') == 'yo yo'
    assert readable_class_name('brush_hair') == 'brush hair'
    assert readable_class_name('riding or walking with horse') == \
        'riding or walking with horse'
    from mmaction.registry import MODELS
    for bad in (['a video of'], ['{} and {}'], 'a {}.', []):
        with pytest.raises(BadInputError, match='template'):
            MODELS.build(dict(type='AIMTextHead', num_classes=3,
                              in_channels=768,
                              text_model='ViT-B-16-quickgelu',
                              text_weights=None, class_names=NAMES,
                              templates=bad))
    with pytest.raises(BadInputError, match='no image projection'):
        MODELS.build(dict(type='AIMTextHead', num_classes=3, in_channels=512,
                          text_model='ViT-B-16-SigLIP2', text_weights=None,
                          class_names=NAMES))


def test_every_run_checks_the_pairing_before_reading_text(tmp_path):
    """A head whose text model is not the backbone's image model's is
    refused when the model is initialised (by any tool), before the text
    file is read."""
    image_model = dict(type='CLIPViT', arch=dict(
        patch_size=16, width=WIDTH, layers=2, heads=2, act='quick_gelu'),
        input_resolution=SIZE)
    with pytest.raises(TextTowerMismatchError, match='quickgelu'):
        _recognizer(image_model, 'ViT-B-16', str(tmp_path / 'absent.pt'),
                    None, backbone_file=False)


def test_a_timm_clip_tower_is_pointed_to_clipvit():
    """timm's CLIP image towers have a text tower, in open_clip's layout:
    the refusal says how to use it, not that there is none."""
    with pytest.raises(NoTextTowerError, match="type='CLIPViT'"):
        check_pairing(dict(model_name='vit_base_patch16_clip_224.openai'),
                      'ViT-B-16-quickgelu')


def test_label_maps_that_would_name_the_wrong_classes_are_refused(tmp_path):
    """An index column (UCF101's classInd.txt) would become part of every
    prompt; a blank line between names would shift the labels after it."""
    from mmaction_aim.utils import BadInputError, read_label_map
    numbered = tmp_path / 'classInd.txt'
    numbered.write_text('1 ApplyEyeMakeup\n2 ApplyLipstick\n3 Archery\n')
    with pytest.raises(LabelMapError, match='starts with a number'):
        read_class_names(str(numbered), 3)
    gap = tmp_path / 'gap.txt'
    gap.write_text('red\n\ngreen\nblue\n\n')
    with pytest.raises(BadInputError, match=r'blank lines \[2\]'):
        read_label_map(str(gap))
    gap.write_text('red\ngreen\nblue\n\n\n')  # trailing blanks are fine
    assert read_label_map(str(gap)) == ['red', 'green', 'blue']
    # A name with a number inside or after it is a name.
    assert read_class_names(['3D printing', 'top 10', 'a'], 3)[0] == \
        '3D printing'
