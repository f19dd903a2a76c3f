"""Bad input to the demo, resize, feature, export and publish tools: one
sentence (argparse's one ``error:`` line, status 2, for an option's value;
our one ``error:`` line, status 1, for a file), never a traceback, never
status 0 with a wrong result."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from conftest import TINY_CONFIG, call_tool, make_clip, refused
from mmaction_aim.analysis import build_model
from mmaction_aim.utils import BadInputError, read_label_map
from mmaction_aim.utils.video import write_video


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    """The tiny config's model as a checkpoint (3 classes), a video, label
    maps of 2, 3 and 4 names, a text file posing as a config."""
    root = tmp_path_factory.mktemp('bad_inputs')
    torch.manual_seed(0)
    model = build_model(Config.fromfile(TINY_CONFIG))
    paths = dict(root=str(root), checkpoint=str(root / 'model.pth'),
                 video=str(root / 'video.mp4'), list=str(root / 'list.txt'),
                 text=str(root / 'config.txt'))
    torch.save(dict(state_dict=model.state_dict(), meta={}),
               paths['checkpoint'])
    write_video(paths['video'], make_clip(0, seed=0, num_frames=16), fps=10)
    (root / 'list.txt').write_text(paths['video'] + '\n')
    (root / 'config.txt').write_text('model = dict()\n')
    for count in (2, 3, 4):
        paths[f'labels{count}'] = str(root / f'labels{count}.txt')
        with open(paths[f'labels{count}'], 'w') as f:
            f.write('\n'.join(f'class {i}' for i in range(count)) + '\n')
    return paths


# --------------------------------------------------------------- demo.py
@pytest.mark.parametrize('count', [2, 4])
def test_demo_refuses_a_label_map_of_another_class_count(files, count):
    label_map = files[f'labels{count}']
    demo = ['demo.py', files['video'], TINY_CONFIG, files['checkpoint'],
            '--device', 'cpu']
    refused(call_tool(demo + ['--label-map', label_map], check=False), 1,
             label_map, f'names {count} classes', 'has 3')
    # ... and so does every --also task.
    proc = call_tool(demo + ['--label-map', files['labels3'], '--also',
                             'second', TINY_CONFIG, files['checkpoint'],
                             label_map], check=False)
    refused(proc, 1, label_map, f'names {count} classes', 'has 3')
    assert 'Top-' not in proc.stdout


def test_demo_refuses_a_directory_as_label_map(files):
    proc = call_tool(['demo.py', files['video'], TINY_CONFIG,
                      files['checkpoint'], '--label-map', files['root']],
                     check=False)
    refused(proc, 1, files['root'], 'is a directory')


@pytest.mark.parametrize('topk', ['0', '-2'])
def test_demo_refuses_topk_below_one(files, topk):
    proc = call_tool(['demo.py', files['video'], TINY_CONFIG,
                      files['checkpoint'], '--label-map', files['labels3'],
                      '--topk', topk], check=False)
    refused(proc, 2, 'argument --topk: an integer >= 1 is needed')


def test_demo_topk_beyond_the_classes_shows_them_all(files):
    proc = call_tool(['demo.py', files['video'], TINY_CONFIG,
                      files['checkpoint'], '--label-map', files['labels3'],
                      '--topk', '10', '--device', 'cpu'])
    lines = proc.stdout.strip().splitlines()
    assert lines[-4] == f'Top-3 for {files["video"]}:'
    assert sorted(line.rsplit(': ', 1)[0] for line in lines[-3:]) == [
        'class 0', 'class 1', 'class 2']


# -------------------------------------------------------- resize_videos.py
@pytest.mark.parametrize('short_side', ['0', '-64', '1'])
def test_resize_refuses_a_short_side_below_two(files, tmp_path, short_side):
    dst = tmp_path / 'dst'
    proc = call_tool(['data/resize_videos.py', files['root'], str(dst),
                      '--short-side', short_side], check=False)
    refused(proc, 2, 'argument --short-side: an integer >= 2 is needed')
    assert not dst.exists()  # nothing a later run would take as done


@pytest.mark.parametrize('source,expected', [
    ('missing', 'is not there: give the directory of the videos'),
    ('video', 'is a file: give the directory of the videos'),
    ('empty', 'holds no videos')])
def test_resize_refuses_a_source_without_videos(files, tmp_path, source,
                                                expected):
    src = {'missing': str(tmp_path / 'vidoes'), 'video': files['video'],
           'empty': str(tmp_path)}[source]
    proc = call_tool(['data/resize_videos.py', src, str(tmp_path / 'dst')],
                     check=False)
    refused(proc, 1, src, expected)
    assert 'all 0 videos' not in proc.stdout


def test_resize_refuses_a_file_as_destination(files):
    proc = call_tool(['data/resize_videos.py', files['root'],
                      files['video']], check=False)
    refused(proc, 1, files['video'], 'is a file')


# ------------------------------------------------------ extract_features.py
@pytest.mark.parametrize('option,value,expected', [
    ('--stride', '0', 'an integer >= 1'),
    ('--stride', '-4', 'an integer >= 1'),
    ('--frame-interval', '0', 'an integer >= 1'),
    ('--clip-len', '0', 'an integer >= 1'),
    ('--stride-seconds', '0', 'a number > 0'),
    ('--stride-seconds', '-0.5', 'a number > 0'),
    ('--batch-size', '0', 'an integer >= 1')])
def test_extract_refuses_counts_below_one(files, tmp_path, option, value,
                                          expected):
    out = tmp_path / 'features'
    proc = call_tool(['extract_features.py', TINY_CONFIG,
                      files['checkpoint'], '--list', files['list'], '--out',
                      str(out), option, value], check=False)
    refused(proc, 2, f'argument {option}: {expected} is needed')
    assert not out.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU is here')
def test_extract_refuses_cuda_without_a_gpu(files, tmp_path):
    proc = call_tool(['extract_features.py', TINY_CONFIG,
                      files['checkpoint'], '--list', files['list'], '--out',
                      str(tmp_path / 'f'), '--device', 'cuda'], check=False)
    refused(proc, 2, 'argument --device: cuda: this machine has 0 CUDA GPU')


@pytest.mark.parametrize('where,expected', [
    ('file', 'is a file; the features need a directory'),
    ('under_file', 'cannot create the directory (Not a directory)')])
def test_extract_refuses_an_out_that_cannot_be_a_directory(files, where,
                                                           expected):
    out = files['video'] + ('/features' if where == 'under_file' else '')
    proc = call_tool(['extract_features.py', TINY_CONFIG,
                      files['checkpoint'], '--list', files['list'], '--out',
                      out], check=False)
    refused(proc, 1, f'--out {out}', expected)


# ---------------------------------------------------- deployment/export.py
@pytest.mark.parametrize('option,value,minimum', [
    ('--views', '0', 1), ('--views', '-3', 1), ('--batch', '0', 1),
    ('--batch', '-1', 1), ('--benchmark', '-2', 0)])
def test_export_refuses_counts(files, tmp_path, option, value, minimum):
    out = tmp_path / 'model.pt2'
    proc = call_tool(['deployment/export.py', TINY_CONFIG,
                      files['checkpoint'], '--out', str(out), '--format',
                      'torch_export', option, value], check=False)
    refused(proc, 2, f'argument {option}: an integer >= {minimum} is '
             'needed')
    assert not out.exists()


def test_export_refuses_a_directory_as_out(files):
    proc = call_tool(['deployment/export.py', TINY_CONFIG,
                      files['checkpoint'], '--out', files['root'],
                      '--format', 'torch_export'], check=False)
    refused(proc, 1, files['root'], 'is a directory')


# ------------------------------------------------ analysis/publish_model.py
def test_publish_refuses_adapters_of_a_never_loaded_image_model(
        files, tmp_path):
    """The tiny config sets neither model.backbone.pretrained nor
    load_from: its image model is a random initialisation no file holds,
    so adapters of it could never be merged."""
    publish = ['analysis/publish_model.py', files['checkpoint'],
               str(tmp_path / 'adapters.pth'), '--adapter-only']
    refused(call_tool(publish + ['--config', TINY_CONFIG], check=False), 1,
             files['checkpoint'], 'never loaded', 'model.backbone.pretrained')
    assert not list(tmp_path.glob('adapters*'))
    # The same weights, the image model read from a file: published.
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.model.backbone.pretrained = str(tmp_path / 'clip.pth')
    cfg.dump(str(tmp_path / 'pretrained.py'))
    call_tool(publish + ['--config', str(tmp_path / 'pretrained.py')])
    assert len(list(tmp_path.glob('adapters-*.pth'))) == 1


def test_publish_refuses_an_adapter_file_without_its_image_model(
        files, tmp_path):
    model = build_model(Config.fromfile(TINY_CONFIG))
    old = str(tmp_path / 'old.pth')
    torch.save(dict(state_dict=model.adapter_state_dict(),
                    meta=dict(trainable_only=True)), old)
    proc = call_tool(['analysis/publish_model.py', old,
                      str(tmp_path / 'adapters.pth'), '--adapter-only',
                      '--config', TINY_CONFIG], check=False)
    refused(proc, 1, old, 'records no image model')


def test_publish_adapter_only_asks_for_a_config_it_lacks(files, tmp_path):
    proc = call_tool(['analysis/publish_model.py', files['checkpoint'],
                      str(tmp_path / 'adapters.pth'), '--adapter-only'],
                     check=False)
    refused(proc, 1, files['checkpoint'], 'stores no config', '--config')


def test_publish_refuses_a_directory_as_output(files):
    proc = call_tool(['analysis/publish_model.py', files['checkpoint'],
                      files['root']], check=False)
    refused(proc, 1, files['root'], 'is a directory')


# ------------------------------------------------------- as a new user would
def _config_argv(tool, config, files, tmp_path):
    out = str(tmp_path / 'out')
    return {
        'demo.py': ['demo.py', files['video'], config, files['checkpoint'],
                    '--label-map', files['labels3']],
        'extract_features.py': ['extract_features.py', config,
                                files['checkpoint'], '--list',
                                files['list'], '--out', out],
        'deployment/export.py': ['deployment/export.py', config,
                                 files['checkpoint'], '--out',
                                 out + '.pt2'],
        'analysis/publish_model.py': [
            'analysis/publish_model.py', files['checkpoint'], out + '.pth',
            '--adapter-only', '--config', config],
    }[tool]


@pytest.mark.parametrize('tool', ['demo.py', 'extract_features.py',
                                  'deployment/export.py',
                                  'analysis/publish_model.py'])
@pytest.mark.parametrize('config,expected', [
    ('text', 'is not a config file'), ('root', 'is a directory'),
    ('missing', 'does not exist')])
def test_a_config_that_is_not_one(files, tmp_path, tool, config, expected):
    path = files.get(config, osp.join(files['root'], 'no_config.py'))
    proc = call_tool(_config_argv(tool, path, files, tmp_path), check=False)
    refused(proc, 1, path, expected)


def test_demo_refuses_a_binary_label_map(files, tmp_path):
    """Before: a UnicodeDecodeError traceback."""
    binary = tmp_path / 'labels.bin'
    binary.write_bytes(bytes(range(256)))
    with pytest.raises(BadInputError, match='is not a text file'):
        read_label_map(str(binary))


def test_extract_refuses_an_empty_list(files, tmp_path):
    empty = tmp_path / 'empty.txt'
    empty.write_text('\n')
    proc = call_tool(['extract_features.py', TINY_CONFIG,
                      files['checkpoint'], '--list', str(empty), '--out',
                      str(tmp_path / 'f')], check=False)
    refused(proc, 1, 'lists no videos: nothing to extract')


def test_extract_names_a_video_decord_fails_on_midway(files, tmp_path):
    """decord opens a rotated 64x48 video and fails on its frames
    (DECORDError, not a RuntimeError): before, a traceback ended the run
    and no video's features were written; now it is named at the end with
    the others written."""
    from mmaction_aim.utils.video import encode_video, tag_display_matrix
    upright = encode_video(str(tmp_path / 'upright.mp4'),
                           make_clip(1, seed=1, num_frames=16), fps=10)
    rotated = tag_display_matrix(upright, str(tmp_path / 'rotated.mp4'),
                                 rotation=90)
    listing = tmp_path / 'list.txt'
    listing.write_text(f'{rotated}\n{files["video"]}\n')
    out = tmp_path / 'features'
    proc = call_tool(['extract_features.py', TINY_CONFIG,
                      files['checkpoint'], '--list', str(listing), '--out',
                      str(out)], check=False)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert 'Traceback' not in proc.stderr
    assert 'rotated.mp4' in proc.stdout + proc.stderr
    assert len(list(out.rglob('*.npz'))) == 1
