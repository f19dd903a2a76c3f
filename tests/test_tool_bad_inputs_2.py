"""Bad input to the publish, CLIP conversion, dataset check, resize and
export tools, found by a new user's trial: one sentence (argparse's one
``error:`` line, status 2, for an option's value; our one ``error:`` line,
status 1, for a file), never a traceback, never status 0 having done
nothing or something wrong, and never a file that existed before removed
or overwritten."""
import hashlib
import os
import os.path as osp
import shutil

import pytest
import torch
from mmengine.config import Config

from conftest import TINY_CONFIG, call_tool, refused, tool_module
from mmaction_aim.analysis import build_model
from mmaction_aim.models.families import CLIPViT

PUBLISH = 'analysis/publish_model.py'


def _sha(path) -> str:
    return hashlib.sha256(open(path, 'rb').read()).hexdigest()


def _mode_as_open_makes_it(path) -> bool:
    """Whether ``path`` has the permissions ``open(path, 'w')`` gives (not
    the temporary file's private ones)."""
    umask = os.umask(0)
    os.umask(umask)
    return os.stat(path).st_mode & 0o777 == 0o666 & ~umask


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """The tiny config's model as a checkpoint, one of a wider model, a
    file of tensors that is no model's, and the tiny config's model with
    its config stored as MMEngine stores it."""
    root = tmp_path_factory.mktemp('publish')
    torch.manual_seed(0)
    cfg = Config.fromfile(TINY_CONFIG)
    paths = dict(root=root, tiny=str(root / 'tiny.pth'),
                 other=str(root / 'other.pth'), weird=str(root / 'weird.pth'),
                 weird_cfg=str(root / 'weird_cfg.pth'))
    torch.save(dict(state_dict=build_model(cfg).state_dict(), meta={}),
               paths['tiny'])
    wide = Config.fromfile(TINY_CONFIG)
    wide.model.backbone.image_model.arch.width = 48
    wide.model.cls_head.in_channels = 48
    torch.save(dict(state_dict=build_model(wide).state_dict()),
               paths['other'])
    torch.save({'foo': torch.zeros(3)}, paths['weird'])
    torch.save(dict(state_dict={'foo': torch.zeros(3)},
                    meta=dict(cfg=cfg.pretty_text)), paths['weird_cfg'])
    return paths


# ------------------------------------------------ analysis/publish_model.py
def test_publish_refuses_its_input_as_output(checkpoints, tmp_path):
    """Before: exit 0, and the checkpoint was gone (renamed to its hashed
    name)."""
    work = tmp_path / 'wd'
    work.mkdir()
    epoch = str(work / 'epoch_1.pth')
    shutil.copy(checkpoints['tiny'], epoch)
    sha = _sha(epoch)
    proc = call_tool([PUBLISH, epoch, epoch], check=False)
    refused(proc, 1, epoch, 'is the input checkpoint')
    assert os.listdir(work) == ['epoch_1.pth'] and _sha(epoch) == sha
    # Spelled another way, the same file.
    proc = call_tool([PUBLISH, epoch, str(work / '.' / 'epoch_1.pth')],
                     check=False)
    refused(proc, 1, 'is the input checkpoint')
    assert os.listdir(work) == ['epoch_1.pth'] and _sha(epoch) == sha


def test_publish_never_removes_or_overwrites_a_file(checkpoints, tmp_path):
    """Before: a file with the output name was overwritten, then renamed
    away (gone), and a file with the hashed name replaced."""
    out = tmp_path / 'aim.pth'
    out.write_bytes(b'not mine')
    proc = call_tool([PUBLISH, checkpoints['tiny'], str(out)])
    [final] = [p for p in tmp_path.iterdir() if p.name.startswith('aim-')]
    assert final.name == f'aim-{_sha(final)[:8]}.pth'
    assert str(final) in proc.stdout and _mode_as_open_makes_it(final)
    assert out.read_bytes() == b'not mine'
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ['aim.pth', final.name])
    # Published again: the same content, said, left as it was.
    stamp = os.path.getmtime(final)
    proc = call_tool([PUBLISH, checkpoints['tiny'], str(out)])
    assert 'published already, with the same content' in proc.stdout
    assert os.path.getmtime(final) == stamp
    # A file of the hashed name with other content: refused, left alone.
    final.write_bytes(b'someone else')
    proc = call_tool([PUBLISH, checkpoints['tiny'], str(out)], check=False)
    refused(proc, 1, str(final), 'exists already with other content')
    assert final.read_bytes() == b'someone else'
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ['aim.pth', final.name])


@pytest.mark.parametrize('source,config,expected', [
    ('tiny', 'missing', ['no_config.py', 'does not exist']),
    ('weird', 'tiny', ['weird.pth', 'does not fit the model of',
                       "58 of the model's keys missing", '1 key(s) unexpected',
                       'foo', 'not a model checkpoint']),
    ('other', 'tiny', ['other.pth', 'does not fit the model of',
                       'tensor(s) of other shapes',
                       'checkpoint [1, 4, 48] vs model [1, 4, 32]']),
    ('weird_cfg', None, ['weird_cfg.pth', 'the config stored in',
                         "58 of the model's keys missing"]),
])
def test_publish_checks_the_checkpoint_against_its_config(
        checkpoints, tmp_path, source, config, expected):
    """Before: --config was ignored without --adapter-only (even when
    missing), and any file of tensors was published with exit 0."""
    argv = [PUBLISH, checkpoints[source], str(tmp_path / 'out.pth')]
    if config is not None:
        argv += ['--config', {'tiny': TINY_CONFIG, 'missing': str(
            tmp_path / 'no_config.py')}[config]]
    refused(call_tool(argv, check=False), 1, *expected)
    assert not list(tmp_path.iterdir())


def test_publish_checks_and_publishes_a_fitting_checkpoint(checkpoints,
                                                           tmp_path):
    proc = call_tool([PUBLISH, checkpoints['tiny'], str(tmp_path / 'a.pth'),
                      '--config', TINY_CONFIG])
    [final] = tmp_path.iterdir()
    assert str(final) in proc.stdout and '58 tensors' in proc.stdout
    # Without a config known, it says that it checked nothing.
    proc = call_tool([PUBLISH, checkpoints['weird'],
                      str(tmp_path / 'w.pth')])
    assert 'stores no config, so it is not checked' in proc.stdout


# -------------------------------------------------- convert/convert_clip.py
def _clip_state(width: int = 32, layers: int = 2, patch: int = 8,
                size: int = 16) -> dict:
    """A whole CLIP state dict (visual tower under ``visual.``, its
    projection, a few text-tower keys), as open_clip saves one."""
    torch.manual_seed(0)
    family = CLIPViT(num_frames=1, input_resolution=size,
                     arch=dict(patch_size=patch, width=width, layers=layers,
                               heads=2))
    state = {f'visual.{k}': v for k, v in family.build().state_dict().items()}
    state.update({'visual.proj': torch.randn(width, 16),
                  'positional_embedding': torch.randn(8, 16),
                  'text_projection': torch.randn(16, 16),
                  'logit_scale': torch.ones([])})
    return state


def test_convert_clip_refuses_its_source_as_destination(tmp_path):
    """Before: exit 0, the source overwritten by its visual tower."""
    src = str(tmp_path / 'clip.pt')
    torch.save(_clip_state(), src)
    sha = _sha(src)
    proc = call_tool(['convert/convert_clip.py', src, src], check=False)
    refused(proc, 1, src, 'is the source file')
    assert _sha(src) == sha and os.listdir(tmp_path) == ['clip.pt']


@pytest.mark.parametrize('where,expected', [
    ('directory', 'is a directory'), ('under_a_file', 'a file has that name')
])
def test_convert_clip_refuses_a_destination_it_cannot_write(
        tmp_path, where, expected):
    """Before: a traceback (torch.save into a directory; os.makedirs)."""
    src = str(tmp_path / 'clip.pt')
    torch.save(_clip_state(), src)
    dst = str(tmp_path) if where == 'directory' else osp.join(src, 'v.pth')
    proc = call_tool(['convert/convert_clip.py', src, dst], check=False)
    refused(proc, 1, dst, expected)


@pytest.mark.parametrize('drop,expected', [
    (['visual.transformer.resblocks.0.ln_1.weight'],
     ['1 key(s) missing (transformer.resblocks.0.ln_1.weight)']),
    ([f'visual.transformer.resblocks.{i}.ln_{j}.{p}' for i in (0, 1)
      for j in (1, 2) for p in ('weight', 'bias')] + ['visual.ln_post.bias'],
     ['9 key(s) missing (', ', ... 6 more)']),
])
def test_convert_clip_refuses_a_file_missing_visual_keys(tmp_path, drop,
                                                         expected):
    """Before: converted with exit 0, an incomplete file written."""
    state = _clip_state()
    for key in drop:
        del state[key]
    src, dst = str(tmp_path / 'clip.pt'), str(tmp_path / 'visual.pth')
    torch.save(state, src)
    proc = call_tool(['convert/convert_clip.py', src, dst], check=False)
    refused(proc, 1, src, 'is not a complete CLIP vision tower',
             '2 blocks of width 32, patch 8', 'nothing written', *expected)
    assert os.listdir(tmp_path) == ['clip.pt']


def test_convert_clip_writes_a_complete_file(tmp_path):
    src, dst = str(tmp_path / 'clip.pt'), str(tmp_path / 'visual.pth')
    state = _clip_state()
    torch.save(state, src)
    call_tool(['convert/convert_clip.py', src, dst])
    visual = torch.load(dst, weights_only=True)
    assert set(visual) == {k[len('visual.'):] for k in state
                           if k.startswith('visual.')} - {'proj'}
    assert sorted(os.listdir(tmp_path)) == ['clip.pt', 'visual.pth']
    assert _mode_as_open_makes_it(dst)


# ---------------------------------------------------------- check_dataset.py
@pytest.fixture
def lists(tmp_path):
    """A config with a train list only, an empty list, a list of one
    missing video."""
    (tmp_path / 'train.txt').write_text('a.mp4 0\n')
    (tmp_path / 'empty.txt').write_text('\n')
    config = tmp_path / 'train_only.py'
    config.write_text(
        'train_dataloader = dict(dataset=dict(type="VideoDataset", '
        f'ann_file="{tmp_path / "train.txt"}", '
        f'data_prefix=dict(video="{tmp_path}")))\n'
        'model = dict(cls_head=dict(num_classes=3))\n')
    (tmp_path / 'syntax.py').write_text('x = (\n')
    return dict(root=str(tmp_path), config=str(config),
                train=str(tmp_path / 'train.txt'),
                empty=str(tmp_path / 'empty.txt'),
                syntax=str(tmp_path / 'syntax.py'))


def _check(*argv):
    return call_tool(['check_dataset.py', *argv], check=False)


def test_check_dataset_refuses_configs_it_cannot_read(lists):
    """Before: tracebacks (FileNotFoundError, SyntaxError, ValueError)."""
    missing = osp.join(lists['root'], 'nope.py')
    refused(_check(missing), 1, missing, 'does not exist')
    refused(_check(lists['syntax']), 1, lists['syntax'], 'line 1',
             'was never closed')
    refused(_check(lists['config'], '--cfg-options', 'key'), 2,
             "'key' is not key=value")


def test_check_dataset_refuses_a_directory_as_source(lists):
    """Before: '[dir] list file dir does not exist'."""
    refused(_check(lists['root']), 1, lists['root'], 'is a directory',
             'a config file', 'or a video list')


def test_check_dataset_names_the_splits_there_are(lists):
    """Before: 'No video lists found in train_only.py' (status 2)."""
    refused(_check(lists['config'], '--splits', 'foo'), 2,
             "invalid choice: 'foo'", "'train', 'val', 'test'")
    refused(_check(lists['config'], '--splits', 'train', 'val'), 1,
             lists['config'], 'has no video list for val',
             'it has lists for train only')
    # A list file has no splits: said, not ignored.
    refused(_check(lists['train'], '--splits', 'val'), 2,
             '--splits applies to a config')


def test_check_dataset_gives_the_quoting_hint_for_a_comma(lists):
    """Before: '[train] ...: the column delimiter must be a non-empty
    string, got ['']'."""
    refused(_check(lists['config'], '--cfg-options',
                    'train_dataloader.dataset.delimiter=,'), 2,
             'a comma is a list separator here',
             'train_dataloader.dataset.delimiter="\',\'"')


def test_check_dataset_refuses_a_list_of_no_videos(lists):
    """Before: 'all 0 videos are good', status 0."""
    proc = _check(lists['empty'])
    assert proc.returncode == 1, proc
    assert f'{lists["empty"]} lists no videos' in proc.stdout
    assert 'good' not in proc.stdout


@pytest.mark.parametrize('option,value,minimum', [
    ('--num-classes', '0', 1), ('--num-classes', '-1', 1),
    ('--workers', '-1', 0), ('--limit', '0', 1), ('--limit', '-1', 1)])
def test_check_dataset_refuses_counts_out_of_range(lists, option, value,
                                                   minimum):
    """Before: --num-classes 0 taken as not given, -1 as '0..-2'; the
    others accepted (--limit -1 printing wrong counts)."""
    refused(_check(lists['train'], option, value), 2,
             f'argument {option}: an integer >= {minimum} is needed')


def test_check_dataset_still_checks_a_config(lists):
    proc = _check(lists['config'], '--exists-only')
    assert proc.returncode == 1
    assert '[train]' in proc.stdout and 'a.mp4: missing' in proc.stdout


# --------------------------------------------------- data/resize_videos.py
@pytest.fixture
def sources(tmp_path):
    """A source directory of (dummy) videos, refused before any is read."""
    src = tmp_path / 'src'
    src.mkdir()
    (src / 'a.mp4').write_bytes(b'x')
    (src / 'b.webm').write_bytes(b'x')
    return src


def _resize(*argv):
    return call_tool(['data/resize_videos.py', *map(str, argv)], check=False)


def _tree(root):
    return sorted(osp.relpath(osp.join(d, f), root)
                  for d, _, files in os.walk(root) for f in files)


def test_resize_refuses_the_source_as_destination(sources):
    """Before: exit 0, 'all 2 videos are in src' having done nothing."""
    refused(_resize(sources, sources), 1, str(sources),
             'is the source directory')
    refused(_resize(sources, f'{sources}/./'), 1, 'is the source directory')
    assert _tree(sources) == ['a.mp4', 'b.webm']


def test_resize_refuses_a_destination_inside_the_source(sources):
    """Before: the copies were written into the source, and re-encoded as
    sources on the next run."""
    refused(_resize(sources, sources / 'small'), 1,
             str(sources / 'small'), 'is inside the source',
             'taken as videos to convert on the next run')
    assert _tree(sources) == ['a.mp4', 'b.webm']


def test_resize_says_a_list_entry_is_a_directory(sources, tmp_path):
    """Before: the directory was reported 'missing'."""
    (sources / 'sub').mkdir()
    listing = tmp_path / 'list.txt'
    listing.write_text('sub 0\n')
    proc = _resize(sources, tmp_path / 'dst', '--list', listing)
    assert proc.returncode == 1
    assert 'sub: a directory, not a video' in proc.stderr
    assert 'missing' not in proc.stderr


@pytest.mark.parametrize('crf,expected', [
    ('99', '--crf 99 is outside the 0-51 that H.264 (x264) takes, the codec '
     'of the .mp4 copies'),
    ('52', '--crf 52 is outside the 0-51'),
])
def test_resize_refuses_a_crf_the_encoder_does_not_take(sources, tmp_path,
                                                        crf, expected):
    """Before: accepted (every video then failed in FFmpeg)."""
    refused(_resize(sources, tmp_path / 'dst', '--crf', crf), 1, expected)
    assert not (tmp_path / 'dst').exists()


def test_resize_crf_ranges_are_per_codec(tmp_path):
    """VP9 takes up to 63, H.264 up to 51."""
    from mmaction_aim.datasets.transcode import check_crf
    check_crf(63, 'vp9')
    check_crf(51, 'h264')
    check_crf(None, 'h264')
    with pytest.raises(ValueError, match='0-51'):
        check_crf(52, 'h264')
    with pytest.raises(ValueError, match='0-63'):
        check_crf(64, 'vp9')
    src = tmp_path / 'src'
    src.mkdir()
    (src / 'b.webm').write_bytes(b'x')
    refused(_resize(src, tmp_path / 'dst', '--crf', '64'), 1,
             '0-63 that VP9 (libvpx) takes', '.webm copies')


# ---------------------------------------------------- deployment/export.py
def test_export_refuses_no_frames(checkpoints, tmp_path):
    """Before: a traceback from inside the temporal-embedding resize."""
    out = tmp_path / 'm.onnx'
    proc = call_tool(['deployment/export.py', TINY_CONFIG,
                      checkpoints['tiny'], '--out', str(out),
                      '--cfg-options', 'model.backbone.num_frames=0'],
                     check=False)
    refused(proc, 1, 'num_frames', 'must be >= 1, got 0')
    assert not out.exists()


@pytest.mark.parametrize('out,fmt,expected', [
    ('x.txt', None, 'x.txt names neither format: write a .onnx (ONNX) or a '
     '.pt2 (torch.export) file'),
    ('x.txt', 'onnx', 'names neither format'),
    ('y.onnx', 'torch_export', '--format torch_export writes a .pt2 file'),
    ('y.pt2', 'onnx', '--format onnx writes a .onnx file'),
])
def test_export_refuses_an_extension_of_another_format(
        checkpoints, tmp_path, out, fmt, expected):
    """Before: ONNX written into x.txt with exit 0; a torch.export program
    into y.onnx, a warning, exit 0."""
    argv = ['deployment/export.py', TINY_CONFIG, checkpoints['tiny'],
            '--out', str(tmp_path / out)]
    proc = call_tool(argv + (['--format', fmt] if fmt else []), check=False)
    refused(proc, 2, 'argument --out', expected)
    assert not list(tmp_path.iterdir())


def test_export_format_follows_the_extension(checkpoints, tmp_path):
    out = tmp_path / 'model.pt2'
    report = call_tool(['deployment/export.py', TINY_CONFIG,
                        checkpoints['tiny'], '--out', str(out)])
    assert '(torch_export, 1 x 1 views)' in report.stdout
    torch.export.load(str(out))  # an exported program


@pytest.mark.parametrize('tool', ['analysis/get_flops.py',
                                  'analysis/benchmark.py'])
def test_analysis_tools_take_cfg_options_as_every_tool(tool, capsys):
    """Before: DictAction's ValueError traceback for a bare key."""
    from mmaction_aim.analysis import benchmark
    module = tool_module(tool) if tool.endswith('get_flops.py') else \
        benchmark
    with pytest.raises(SystemExit) as info:
        module.parse_args([TINY_CONFIG, '--cfg-options', 'key'])
    assert info.value.code == 2
    assert "'key' is not key=value" in capsys.readouterr().err
    if tool.endswith('get_flops.py'):
        with pytest.raises(SystemExit):
            module.parse_args([TINY_CONFIG, '--shape', '0', '8', '8'])
        assert 'an integer >= 1' in capsys.readouterr().err
