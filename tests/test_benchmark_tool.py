"""Smoke test of tools/analysis/benchmark.py on a tiny architecture.

The paper's config is shrunk by the package's shrinker; nothing here is
timed,
only the tool's plumbing is checked: variants built as specified, FLOPs
counted on the real computation (frozen weights get no weight-gradient
products), memory measured in separate processes, JSON written.
"""
import json

import numpy as np
import pytest

from conftest import shrunk_config, tool_module


@pytest.fixture(scope='module')
def config(tmp_path_factory):
    """configs/aim_vitb_k400.py shrunk (width 32, 2 frames) at 32 pixels
    and 3 classes."""
    from mmengine.config import Config
    path = shrunk_config('configs/aim_vitb_k400.py',
                         tmp_path_factory.mktemp('config'), num_classes=3)
    cfg = Config.fromfile(path)
    cfg.model.backbone.image_model.input_resolution = 32
    cfg.dump(path)
    return path


@pytest.fixture(scope='module')
def benchmark():
    from mmaction_aim.analysis import benchmark
    return benchmark


def test_in_process_measurements_count_what_runs(benchmark, config):
    runs = {}
    for variant in ('aim', 'full', 'linear', 'plain'):
        for mode in ('inference', 'train'):
            runs[variant, mode] = benchmark.measure(
                config, variant, mode, batch_size=1, repeats=1, warmup=0,
                with_cp=False, device='cpu')
    # The linear probe is the frozen image model: same inference FLOPs as
    # full fine-tuning, and training costs no backward through it.
    assert runs['linear', 'inference']['flops'] == \
        runs['full', 'inference']['flops']
    assert runs['linear', 'train']['flops'] == \
        runs['linear', 'inference']['flops'] + 32 * 3  # + head backward
    # AIM's adapters add work; full fine-tuning adds weight gradients.
    assert runs['aim', 'inference']['flops'] > \
        runs['full', 'inference']['flops']
    assert runs['full', 'train']['flops'] > \
        2 * runs['full', 'inference']['flops']
    assert runs['aim', 'train']['trainable_params'] < \
        runs['full', 'train']['trainable_params']
    for r in runs.values():
        assert r['median_s'] > 0 and r['peak_memory_bytes'] >= 0

    # Useful FLOPs: AIM's default step recomputes, per block, in_proj in
    # both attention branches, the two attentions' forward and c_fc.
    # Tokens: 1 clip x 2 frames x 5 = 10; width 32, 2 heads of 16.
    d, tokens = 32, 10
    # Per block (two blocks), in multiply-accumulates; the LayerNorms in
    # front of the recomputed attention and MLP count 5 per element.
    per_block = (2 * tokens * d * 3 * d  # in_proj, two branches
                 + 2 * 2 * 2 * 5 * 5 * 16  # spatial: 2 frames, L=5
                 + 2 * 5 * 2 * 2 * 2 * 16  # temporal: 5 tokens, L=2
                 + tokens * d * 4 * d  # c_fc
                 + 2 * 5 * tokens * d)  # two LayerNorms
    recomputed = 2 * per_block
    aim = runs['aim', 'train']
    assert aim['flops'] - aim['useful_flops'] == recomputed
    plain = benchmark.measure(
        config, 'aim', 'train', batch_size=1, repeats=1, warmup=0,
        with_cp=False, device='cpu',
        cfg_options={'model.backbone.recompute_frozen': ()})
    assert plain['flops'] == plain['useful_flops'] == aim['useful_flops']
    # ... and keeps 4 token tensors less per recomputed part and block.
    assert plain['saved_activation_bytes'] - aim['saved_activation_bytes'] \
        >= 3 * 4 * 4 * tokens * d * 2
    assert runs['full', 'train']['useful_flops'] == \
        runs['full', 'train']['flops']
    # The straightforward implementation does the same useful work
    # (nn.MultiheadAttention's fused inference path counted too).
    assert runs['plain', 'inference']['flops'] == \
        runs['aim', 'inference']['flops']
    assert runs['plain', 'train']['flops'] == aim['useful_flops']
    table = benchmark.summarise(
        list(runs.values()), dict(flops_per_s=1e9, size=128,
                                  dtype='float32'), batch_size=1)
    assert table['full']['train_memory_vs_full'] == 1
    assert set(table) == {'aim', 'full', 'linear', 'plain'}
    assert 'aim' in benchmark.format_table(table, dict(
        flops_per_s=1e9, size=128, dtype='float32'))


def test_command_line_writes_json(benchmark, config, tmp_path):
    out = tmp_path / 'bench.json'
    benchmark.main([config, '--variants', 'aim', '--modes', 'train',
                    '--batch-size', '1', '--repeats', '1', '--warmup', '0',
                    '--device', 'cpu', '--out', str(out)])
    report = json.loads(out.read_text())
    aim = report['summary']['aim']
    assert aim['train_flops'] > 0 and aim['train_s'] > 0
    assert 0 < aim['train_useful_matmul_fraction'] < \
        aim['train_matmul_fraction']
    assert report['matmul']['size'] == 4 * 32
    # The reference product is also timed between the steps, and each row
    # is divided by its own.
    run, = report['runs']
    assert run['matmul']['size'] == 4 * 32 and len(
        run['matmul']['times_s']) == 1
    assert aim['train_matmul_flops_per_s'] == run['matmul']['flops_per_s']
    assert 'MALLOC_MMAP_THRESHOLD_' in report['memory_method']


def test_compare_steps_interleaves_settings(config, tmp_path):
    module = tool_module('analysis/compare_steps.py')
    out = tmp_path / 'steps.json'
    plain = json.dumps({'model.backbone.image_model.type': 'PlainCLIPViT'})
    report = module.main([
        config, '--setting', 'ours={}', '--setting', f'plain={plain}',
        '--rounds', '3', '--batch-size', '1', '--out', str(out)])
    assert set(report['times']) == {'ours', 'plain'}
    assert all(len(t) == 3 and min(t) > 0 for t in report['times'].values())
    assert json.loads(out.read_text())['settings']['plain'][
        'model.backbone.image_model.type'] == 'PlainCLIPViT'
    with pytest.raises(SystemExit):
        module.main([config, '--setting', 'no-json-here'])


@pytest.mark.parametrize('capacity', [0, 1, 2, 7, 8, 37, 1000])
def test_largest_batch_search(benchmark, capacity):
    tried = []

    def fits(batch):
        tried.append(batch)
        return batch <= capacity

    assert benchmark.largest_batch(fits, limit=4096) == capacity
    assert len(tried) <= 2 * max(capacity, 1).bit_length() + 2
    assert benchmark.largest_batch(lambda b: True, start=2, limit=48) == 48


def test_max_batch_is_refused_on_cpu(benchmark, config):
    with pytest.raises(SystemExit):
        benchmark.parse_args([config, '--device', 'cpu', '--max-batch'])


def test_max_training_batch_tries_fresh_workers(benchmark, config,
                                               monkeypatch):
    """Each size runs in a worker process; an out-of-memory exit means
    'does not fit', any other failure is an error."""
    import subprocess
    sizes = []

    def fake_run(cmd, **kwargs):
        batch = int(cmd[cmd.index('--batch-size') + 1])
        sizes.append(batch)
        if batch > 3:
            return subprocess.CompletedProcess(
                cmd, 1, '', 'torch.OutOfMemoryError: CUDA out of memory.')
        return subprocess.CompletedProcess(cmd, 0, '{"ok": 1}\n', '')

    monkeypatch.setattr(benchmark.subprocess, 'run', fake_run)
    args = benchmark.parse_args([config, '--device', 'cpu'])
    assert benchmark.max_training_batch(args, 'aim') == 3
    assert sizes[:3] == [2, 4, 3]  # from --batch-size 2: double, bisect

    monkeypatch.setattr(
        benchmark.subprocess, 'run', lambda cmd, **kwargs:
        subprocess.CompletedProcess(cmd, 1, '', 'ValueError: bad config'))
    with pytest.raises(RuntimeError, match='bad config'):
        benchmark.max_training_batch(args, 'aim')


def test_loader_benchmark_measures_pipelines_and_decoders(tmp_path):
    """tools/analysis/loader_benchmark.py on generated H.264 videos: clips
    per second, the time of every transform, the cores a GPU needs, and
    decord and the sparse decoder side by side."""
    from conftest import TINY_CONFIG
    module = tool_module('analysis/loader_benchmark.py')
    out = tmp_path / 'loader.json'
    report = module.main([
        TINY_CONFIG, '--generate', '2', '--size', '96x64', '--seconds', '2',
        '--fps', '10', '--samples', '3', '--splits', 'train', 'test',
        '--decoders', 'decord', 'sparse', '--rounds', '2', '--repeats', '2',
        '--gpu-clips-per-s', '30', '--out', str(out)])
    assert json.loads(out.read_text())['splits'].keys() == {'train', 'test'}
    train = report['splits']['train']
    assert [t['name'] for t in train['transforms']][:3] == [
        'DecordInit', 'SampleFrames', 'DecordDecode']
    assert 0.5 < sum(t['share'] for t in train['transforms']) <= 1.0001
    assert 0 < train['decoding_share'] < 1
    assert train['cores_per_gpu'] == pytest.approx(30 / train['clips_per_s'])
    ratio = train['decoders']['ratio_to_first']
    assert ratio['decord']['min'] == 1.0 and ratio['sparse']['min'] > 0
    assert len(train['decoders']['sparse']['clips_per_s']) == 2
    # Repeated sampling (AIMRepeatedVideoDataset) with each decoder.
    assert ratio['decord+repeat2']['median'] > 0
    assert ratio['sparse+repeat2']['median'] > 0
    assert not any('repeat' in name
                   for name in report['splits']['test']['decoders'])


def test_benchmark_videos_from_real_footage(codec_videos):
    """--footage: frames of a given video, scaled to cover the size,
    cropped, played forward and back as long as asked."""
    from mmaction_aim.analysis.loader import footage_of
    path, source = codec_videos['h264']  # 40 frames of 48x64
    frames = footage_of(path, 100, 30, 30, seed=0)
    assert len(frames) == 100
    assert all(f.shape == (30, 30, 3) and f.dtype == np.uint8
               for f in frames)
    # Forward then back: the frame after the turn repeats the one before.
    same = [i for i in range(1, 99)
            if np.array_equal(frames[i - 1], frames[i + 1])]
    assert same, 'no turn found'
    assert not np.array_equal(frames[0], frames[1])


#: Bad input to tools/analysis/loader_benchmark.py -> what its one
#: ``error:`` line names (argparse: status 2; the tool: status 1).
LOADER_BAD_INPUT = [
    (['--repeats', '0'], '--repeats: an integer >= 2'),
    (['--repeats', '-2'], '--repeats: an integer >= 2'),
    (['--rounds', '0'], '--rounds: an integer >= 1'),
    (['--samples', '-1'], '--samples: an integer >= 1'),
    (['--generate', '0'], '--generate: an integer >= 1'),
    (['--gop', '0'], '--gop: an integer >= 1'),
    (['--seconds', '0'], '--seconds: a number > 0'),
    (['--fps', 'nan'], '--fps: a number > 0'),
    (['--gpu-clips-per-s', '-3'], '--gpu-clips-per-s: a number > 0'),
    (['--size', '641x360'], '--size: WIDTHxHEIGHT of even'),
    (['--decoders', 'sparse', 'sparse'], 'each decoder once'),
    (['--seconds', '0.01', '--fps', '10'], 'makes no frame'),
    (['--footage', '{tmp}'], 'a directory, not a video'),
    (['--footage', '{tmp}/none.mp4'], 'no such file'),
    (['--list', '{tmp}'], 'a directory, not a video list'),
    (['--list', '{tmp}/none.txt'], 'no such file'),
    (['--list', '{tmp}/list.txt', '--root', '{tmp}/none'],
     'not a directory'),
    (['--model-benchmark', '{tmp}/list.txt'], 'not a JSON of'),
    (['--model-benchmark', '{tmp}/none.json'], 'No such file'),
    (['--repeats', '2', '--splits', 'val'], 'add train to --splits'),
    (['--sample-once'], 'give --repeats K'),
    (['--out', '{tmp}'], 'is a directory'),
    # A listed video that does not decode (a rotated 64x48 clip made decord
    # raise mid-measurement), found before anything is timed.
    (['--list', '{tmp}/list.txt', '--root', '{tmp}'],
     '1 video(s) cannot be used'),
]


@pytest.mark.parametrize('args,says', LOADER_BAD_INPUT)
def test_loader_benchmark_refuses_bad_input(args, says, tmp_path):
    """One ``error:`` line, no traceback, nothing measured."""
    from conftest import TINY_CONFIG, call_tool
    (tmp_path / 'list.txt').write_text('a.mp4 0\n')
    result = call_tool(['analysis/loader_benchmark.py', TINY_CONFIG] +
                       [a.format(tmp=tmp_path) for a in args], check=False)
    errors = [line for line in result.stderr.splitlines() if 'error:' in line]
    assert result.returncode in (1, 2) and len(errors) == 1, result.stderr
    assert says in errors[0] and 'Traceback' not in result.stderr


def test_loader_benchmark_refuses_a_decoder_that_cannot_load(monkeypatch):
    """torchcodec without its FFmpeg (which would run decord under its
    name) and sparse without PyAV: refused before anything is generated,
    saying why and how to fix it."""
    import sys
    from conftest import TINY_CONFIG, call_tool
    from mmaction_aim.datasets.transforms import torchcodec_decode
    monkeypatch.setattr(torchcodec_decode, 'torchcodec_problem',
                        lambda: 'torchcodec cannot decode here (libavutil): '
                        '`source tools/setup_env.sh`')
    monkeypatch.setitem(sys.modules, 'av', None)
    for decoder, says in (('torchcodec', 'setup_env.sh'),
                          ('sparse', 'pip install av')):
        result = call_tool(['analysis/loader_benchmark.py', TINY_CONFIG,
                            '--decoders', 'decord', decoder], check=False)
        assert result.returncode == 1 and 'generating' not in result.stdout
        assert f"decoder {decoder!r} cannot be measured" in result.stderr
        assert says in result.stderr


def test_loader_benchmark_refuses_a_config_whose_decoder_fell_back(
        monkeypatch):
    """The config's own pipeline with torchcodec where it does not load:
    refused, not reported under TorchCodecInit's name."""
    from conftest import TINY_CONFIG, call_tool
    from mmaction_aim.datasets.transforms import torchcodec_decode
    monkeypatch.setattr(torchcodec_decode, 'torchcodec_problem',
                        lambda: 'torchcodec cannot decode here (libavutil)')
    result = call_tool([
        'analysis/loader_benchmark.py', TINY_CONFIG, '--generate', '1',
        '--size', '96x64', '--seconds', '1', '--fps', '8', '--splits',
        'train', '--cfg-options', 'train_dataloader.dataset.decoder='
        'torchcodec'], check=False)
    assert result.returncode == 1, result.stderr
    assert "decoder 'torchcodec' cannot be measured" in result.stderr
