"""tools/deployment/export.py: the recognizer (normalisation, backbone,
head, averaging of views) exported with torch.export and ONNX; the file
gives PyTorch eager's scores to 1e-4 (ONNX Runtime on the CPU)."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmaction.registry import MODELS
from mmaction_aim.apis import check_export, run_export
from mmaction_aim.apis.export import DeployableRecognizer, example_input
from conftest import TINY_CONFIG, tool_module
from models.helpers import randomise_adapters


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    cfg = Config.fromfile(TINY_CONFIG)
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    randomise_adapters(model)
    path = tmp_path_factory.mktemp('export') / 'model.pth'
    torch.save(dict(state_dict=model.state_dict()), path)
    return str(path)


@pytest.mark.parametrize('fmt,ext', [('torch_export', 'pt2'),
                                     ('onnx', 'onnx')])
def test_export_gives_eager_scores(fmt, ext, checkpoint, tmp_path):
    if fmt == 'onnx':
        pytest.importorskip('onnxruntime')
        pytest.importorskip('onnxscript')
    out = tmp_path / f'model.{ext}'
    report = tool_module('deployment/export.py').main([
        TINY_CONFIG, checkpoint, '--out', str(out), '--format', fmt,
        '--views', '3', '--batch', '2', '--benchmark', '2'])
    assert out.is_file() and report['max_abs_diff'] < 1e-4
    assert set(report['timing']) == {'eager', fmt}
    # Independently: the file on other clips, against the recognizer's
    # own test path (probabilities averaged over the 3 views).
    from mmaction_aim.apis import load_recognizer
    model = load_recognizer(Config.fromfile(TINY_CONFIG), checkpoint)
    clips = example_input(model, views=3, batch=2, seed=7)
    with torch.no_grad():
        x = (clips - model.data_preprocessor.mean.view(1, 1, 3, 1, 1, 1)) \
            / model.data_preprocessor.std.view(1, 1, 3, 1, 1, 1)
        scores = model(x, mode='tensor', stage='head').view(2, 3, -1)
        expected = scores.softmax(-1).mean(1)  # average_clips='prob'
    got = torch.from_numpy(run_export(str(out), fmt, clips))
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)
    assert check_export(model, str(out), fmt, views=3, batch=2)[0] < 1e-4
    assert DeployableRecognizer(model)(clips).shape == (2, 3)


def test_logits_are_exported_too(checkpoint, tmp_path):
    out = tmp_path / 'logits.pt2'
    report = tool_module('deployment/export.py').main([
        TINY_CONFIG, checkpoint, '--out', str(out), '--format',
        'torch_export', '--views', '2', '--output', 'logits'])
    assert report['max_abs_diff'] < 1e-4
    from mmaction_aim.apis import load_recognizer
    model = load_recognizer(Config.fromfile(TINY_CONFIG), checkpoint)
    clips = example_input(model, views=2, batch=1, seed=3)
    logits = run_export(str(out), 'torch_export', clips)
    assert logits.shape == (1, 2, 3)
    with torch.no_grad():
        probs = DeployableRecognizer(model)(clips)
    torch.testing.assert_close(torch.from_numpy(logits).softmax(-1).mean(1),
                               probs, atol=1e-5, rtol=0)


def test_hiera_exports_to_onnx(tmp_path):
    """Hiera's mask-unit attention calls the fused kernel on 5-D tensors,
    which the ONNX exporter refuses: it is exported by its explicit path
    (the same function), and the fused kernel is back afterwards."""
    pytest.importorskip('onnxruntime')
    pytest.importorskip('onnxscript')
    from mmaction_aim.apis.export import export_recognizer
    from models.helpers import build_recognizer
    torch.manual_seed(0)
    model = build_recognizer(image_model=dict(
        model_name='hiera_tiny_224', timm_kwargs=dict(
            embed_dim=16, num_heads=1, stages=(1, 1, 1, 1), img_size=64)),
        num_frames=2, num_classes=3, data_preprocessor=dict(
            type='ActionDataPreprocessor', mean='image_model',
            std='image_model', format_shape='NCTHW'))
    model.init_weights()
    randomise_adapters(model)
    model.eval()
    out = str(tmp_path / 'hiera.onnx')
    export_recognizer(model, out, 'onnx', views=2)
    diff, scale = check_export(model, out, 'onnx', views=2)
    assert diff < 1e-5 < scale
    assert all(m.fused_attn for m in model.modules()
               if hasattr(m, 'fused_attn'))
