"""Every Python snippet in the README and docs/ runs, as a reader would
paste it: in a directory of its own, with a fresh namespace.

What a snippet presumes and does not show is provided, and nothing more:
a trained ``model`` (a tiny recognizer) where the text says so, the
Kinetics-400 layout of docs/data_preparation.md filled with a few real
videos. Config fragments are then used: ``backbone`` / ``cls_head`` /
``model`` dicts are built (image-model file off, on the meta device), and a
fragment with ``_base_`` is read as a config file.
Models are built by the one builder the tools use,
:func:`mmaction_aim.analysis.build_model`.
"""
import os
import os.path as osp
import re
import textwrap

import pytest

from conftest import REPO, write_dataset

DOCS = ['README.md'] + sorted(
    osp.join('docs', name) for name in os.listdir(osp.join(REPO, 'docs'))
    if name.endswith('.md'))


def _snippets():
    found = []
    for doc in DOCS:
        with open(osp.join(REPO, doc)) as f:
            text = f.read()
        for i, code in enumerate(re.findall(r'```python\n(.*?)```', text,
                                            re.S)):
            found.append(pytest.param(doc, code, id=f'{doc}#{i}'))
    return found


# What some snippets presume (found by a phrase of theirs).
PRELUDES = {
    'model.save_adapters': '''
        import os
        from mmaction_aim.analysis import build_model
        model = build_model(dict(
            type='AIMRecognizer',
            backbone=dict(type='AIMBackbone', image_model=dict(
                              type='CLIPViT', arch=dict(
                                  patch_size=8, width=32, layers=2, heads=2),
                              input_resolution=16),
                          num_frames=2, pretrained='image_model.pth'),
            cls_head=dict(type='AIMHead', num_classes=3, in_channels=32)),
            keep_pretrained=True)
        import torch
        torch.save({k[len('image_model.'):]: v
                    for k, v in model.backbone.state_dict().items()
                    if k.startswith('image_model.') and 'adapter' not in k},
                   'image_model.pth')
        model.init_weights()
        os.makedirs('work_dirs/aim', exist_ok=True)
        ''',
}

EPILOGUE = '''
import mmaction_aim  # noqa
from mmengine.config import Config
from mmaction_aim.analysis import build_model
_names = dict(globals())
for _name in ('backbone', 'cls_head', 'model'):
    _cfg = _names.get(_name)
    if isinstance(_cfg, dict) and 'type' in _cfg:
        if _name == 'backbone':
            _cfg = dict(_cfg, pretrained=None)
        build_model(_cfg, device='meta')  # a model's image-model file off
        print('built', _name)
if '_base_' in _names:
    with open('fragment_config.py', 'w') as f:
        f.write(SNIPPET)
    Config.fromfile('fragment_config.py')
    print('read config')
'''


@pytest.mark.parametrize('doc,code', _snippets())
def test_doc_snippet_runs(doc, code, tmp_path, monkeypatch):
    for name in ('configs', 'checkpoints', 'tools'):
        os.symlink(osp.join(REPO, name), tmp_path / name)
    if 'kinetics400' in code or 'aim_vitb_k400' in code:
        paths = write_dataset(str(tmp_path / 'data' / 'kinetics400'))
        os.rename(paths['videos'], tmp_path / 'data' / 'kinetics400' /
                  'videos_train')
        os.symlink('videos_train',
                   tmp_path / 'data' / 'kinetics400' / 'videos_val')
        for split, name in (('train', 'train'), ('val', 'val')):
            os.rename(paths[split], tmp_path / 'data' / 'kinetics400' /
                      f'kinetics400_{name}_list_videos.txt')
    prelude = ''.join(textwrap.dedent(text)
                      for phrase, text in PRELUDES.items() if phrase in code)
    script = (prelude + '\n' + code + '\nSNIPPET = ' + repr(code) + '\n' +
              EPILOGUE)
    monkeypatch.chdir(tmp_path)
    try:
        exec(compile(script, f'{doc} snippet', 'exec'),
             dict(__name__='__snippet__'))
    except Exception as exc:
        raise AssertionError(f'{doc}:\n{code}') from exc
