"""One config of every image-model family trains through tools/train.py
--shrink (the family's tiny version, 2 frames, the fixture videos, one
epoch), with the 0-255 normalisation of its image model; every config is
built (on meta) by tests/test_configs.py."""
import os.path as osp

import pytest

from conftest import call_tool, data_options

#: One config per family (registered name -> config).
FAMILY_CONFIGS = {
    'CLIPViT': 'configs/aim_vitb-laion2b_k400.py',  # open_clip, exact GELU
    # The SSv2 recipe, 4 adapters.
    'TimmViT': 'configs/aim_vitb-in21k-augreg_ssv2.py',
    'TimmEva': 'configs/aim_eva02-vitb16_k400.py',
    'TimmSwin': 'configs/aim_swinb_k400_32f.py',
    'TimmBeit': 'configs/aim_beit-vitb16_k400.py',
    'TimmHiera': 'configs/aim_hiera-base_k400.py',  # pooling blocks
}


def test_every_registered_family_has_a_trained_config():
    from mmaction_aim.models.families import FAMILIES
    own = {name for name, cls in FAMILIES.module_dict.items()
           if cls.__module__.startswith('mmaction_aim.models.families')}
    assert own == set(FAMILY_CONFIGS)


@pytest.mark.parametrize('family', sorted(FAMILY_CONFIGS))
def test_family_config_trains(family, video_dataset, tmp_path):
    path = FAMILY_CONFIGS[family]
    work_dir = str(tmp_path / 'work')
    proc = call_tool(['train.py', path, '--work-dir', work_dir, '--shrink',
                      '--cfg-options', *data_options(video_dataset),
                      'model.cls_head.num_classes=3'])
    log = proc.stdout
    assert "Config changed by the tool: model.backbone.num_frames: " \
        "(as written) -> '2' (--shrink)" in log
    assert 'loss_cls:' in log and 'acc/top1' in log, log[-3000:]
    assert osp.exists(osp.join(work_dir, 'epoch_1.pth'))
    if family != 'CLIPViT':
        assert 'Normalisation from the image model' in log
