"""tools/data/build_video_lists.py on small files in each dataset's real
format."""
import importlib.util
import json
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SCRIPT = osp.join(ROOT, 'tools', 'data', 'build_video_lists.py')


def _load():
    spec = importlib.util.spec_from_file_location('build_video_lists', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bvl = _load()


def _run(*args):
    subprocess.run([sys.executable, SCRIPT, *args], check=True,
                   capture_output=True, text=True)


def _lines(path):
    with open(path) as f:
        return f.read().splitlines()


# Kinetics-400 CSVs as published (train has the is_cc column of the 2020
# re-release; quotes around labels with commas are legal CSV).
K400_TRAIN = """label,youtube_id,time_start,time_end,split,is_cc
abseiling,---QUuC4vJs,3,13,train,0
air drumming,--nQbRBEz2s,104,114,train,0
"petting animal (not cat)",-0Fvdx1KS-c,25,35,train,0
abseiling,--4-0ihtnBU,58,68,train,0
"""
K400_VAL = """label,youtube_id,time_start,time_end,split
air drumming,-VtLx-mcPds,4,14,validate
petting animal (not cat),0BgOhlrxCNs,150,160,validate
"""
K400_TEST = """youtube_id,time_start,time_end,split
--33Lscn6sk,4,14,test
"""


def test_kinetics(tmp_path):
    (tmp_path / 'train.csv').write_text(K400_TRAIN)
    (tmp_path / 'validate.csv').write_text(K400_VAL)
    out = tmp_path / 'out'
    _run('kinetics', '--train', str(tmp_path / 'train.csv'), '--val',
         str(tmp_path / 'validate.csv'), '--out-dir', str(out))
    assert _lines(out / 'label_map_kinetics400.txt') == [
        'abseiling', 'air drumming', 'petting animal (not cat)']
    assert _lines(out / 'kinetics400_train_list_videos.txt') == [
        'abseiling/---QUuC4vJs_000003_000013.mp4 0',
        'air_drumming/--nQbRBEz2s_000104_000114.mp4 1',
        'petting_animal_(not_cat)/-0Fvdx1KS-c_000025_000035.mp4 2',
        'abseiling/--4-0ihtnBU_000058_000068.mp4 0',
    ]
    assert _lines(out / 'kinetics400_val_list_videos.txt') == [
        'air_drumming/-VtLx-mcPds_000004_000014.mp4 1',
        'petting_animal_(not_cat)/0BgOhlrxCNs_000150_000160.mp4 2',
    ]

    rows = bvl.read_kinetics_csv(str(tmp_path / 'validate.csv'))
    flat = bvl.kinetics_entries(rows, bvl.kinetics_classes(rows), 'flat')
    assert flat[0] == ('-VtLx-mcPds_000004_000014.mp4', 0)

    (tmp_path / 'test.csv').write_text(K400_TEST)
    with pytest.raises(ValueError, match='no label'):
        bvl.kinetics_entries(bvl.read_kinetics_csv(str(tmp_path / 'test.csv')),
                             ['abseiling'])


def test_kinetics_video_root_drops_missing(tmp_path):
    (tmp_path / 'train.csv').write_text(K400_TRAIN)
    videos = tmp_path / 'videos_train' / 'abseiling'
    videos.mkdir(parents=True)
    (videos / '---QUuC4vJs_000003_000013.mp4').write_bytes(b'')
    _run('kinetics', '--train', str(tmp_path / 'train.csv'), '--out-dir',
         str(tmp_path), '--name', 'k', '--video-root',
         str(tmp_path / 'videos_train'))
    assert _lines(tmp_path / 'k_train_list_videos.txt') == [
        'abseiling/---QUuC4vJs_000003_000013.mp4 0']
    (tmp_path / 'validate.csv').write_text(K400_VAL)
    val_videos = tmp_path / 'videos_val' / 'air_drumming'
    val_videos.mkdir(parents=True)
    (val_videos / '-VtLx-mcPds_000004_000014.mp4').write_bytes(b'')
    _run('kinetics', '--train', str(tmp_path / 'train.csv'), '--val',
         str(tmp_path / 'validate.csv'), '--out-dir', str(tmp_path), '--name',
         'k', '--video-root', str(tmp_path / 'videos_train'),
         '--val-video-root', str(tmp_path / 'videos_val'))
    assert len(_lines(tmp_path / 'k_train_list_videos.txt')) == 1
    assert _lines(tmp_path / 'k_val_list_videos.txt') == [
        'air_drumming/-VtLx-mcPds_000004_000014.mp4 1']


SSV2_LABELS = {
    'Approaching something with your camera': '0',
    'Holding something next to something': '2',
    'Moving something up': '1',
}
SSV2_TRAIN = [
    {'id': '78687', 'label': 'holding potato next to vicks vaporub bottle',
     'template': 'Holding [something] next to [something]',
     'placeholders': ['potato', 'vicks vaporub bottle']},
    {'id': '42326', 'label': 'moving a cup up',
     'template': 'Moving [something] up', 'placeholders': ['a cup']},
]
SSV2_VAL = [
    {'id': '74225', 'label': 'approaching a bottle with your camera',
     'template': 'Approaching [something] with your camera',
     'placeholders': ['a bottle']},
]


def test_sthv2(tmp_path):
    for name, obj in (('labels', SSV2_LABELS), ('train', SSV2_TRAIN),
                      ('validation', SSV2_VAL)):
        (tmp_path / f'something-something-v2-{name}.json').write_text(
            json.dumps(obj))
    _run('sthv2', '--labels',
         str(tmp_path / 'something-something-v2-labels.json'), '--train',
         str(tmp_path / 'something-something-v2-train.json'), '--val',
         str(tmp_path / 'something-something-v2-validation.json'),
         '--out-dir', str(tmp_path))
    assert _lines(tmp_path / 'label_map_sthv2.txt') == [
        'Approaching something with your camera', 'Moving something up',
        'Holding something next to something']
    assert _lines(tmp_path / 'sthv2_train_list_videos.txt') == [
        '78687.webm 2', '42326.webm 1']
    assert _lines(tmp_path / 'sthv2_val_list_videos.txt') == ['74225.webm 0']
    with pytest.raises(ValueError, match='no template'):
        bvl.sthv2_entries([{'id': '1'}], SSV2_LABELS)


DIVING_TRAIN = [
    {'vid_name': '-mmq0PT-u8k_00155', 'label': 1, 'start_frame': 0,
     'end_frame': 184},
    {'vid_name': '_8Vy3dlHg2w_00000', 'label': 0, 'start_frame': 0,
     'end_frame': 96},
]
DIVING_VOCAB = [['Back', '15som', '05Twis', 'FREE'],
                ['Back', '15som', '15Twis', 'FREE']]


def test_diving48(tmp_path):
    (tmp_path / 'Diving48_V2_train.json').write_text(json.dumps(DIVING_TRAIN))
    (tmp_path / 'Diving48_vocab.json').write_text(json.dumps(DIVING_VOCAB))
    _run('diving48', '--train', str(tmp_path / 'Diving48_V2_train.json'),
         '--vocab', str(tmp_path / 'Diving48_vocab.json'), '--out-dir',
         str(tmp_path))
    assert _lines(tmp_path / 'diving48_train_list_videos.txt') == [
        '-mmq0PT-u8k_00155.mp4 1', '_8Vy3dlHg2w_00000.mp4 0']
    assert _lines(tmp_path / 'label_map_diving48.txt') == [
        'Back_15som_05Twis_FREE', 'Back_15som_15Twis_FREE']
    assert bvl.diving48_classes(None)[47] == 'class_47'


UCF_CLASSIND = '1 ApplyEyeMakeup\r\n2 ApplyLipstick\r\n3 Archery\r\n'
UCF_TRAIN = ('ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\r\n'
             'Archery/v_Archery_g08_c02.avi 3\r\n')
UCF_TEST = ('ApplyLipstick/v_ApplyLipstick_g01_c01.avi\r\n'
            'Archery/v_Archery_g01_c01.avi\r\n')


def test_ucf101(tmp_path):
    (tmp_path / 'classInd.txt').write_text(UCF_CLASSIND)
    for split in (1, 2, 3):
        (tmp_path / f'trainlist0{split}.txt').write_text(UCF_TRAIN)
        (tmp_path / f'testlist0{split}.txt').write_text(UCF_TEST)
    _run('ucf101', '--ann-dir', str(tmp_path), '--out-dir', str(tmp_path))
    for split in (1, 2, 3):
        assert _lines(tmp_path / f'ucf101_train_split_{split}_videos.txt') == [
            'ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 0',
            'Archery/v_Archery_g08_c02.avi 2']
        assert _lines(tmp_path / f'ucf101_val_split_{split}_videos.txt') == [
            'ApplyLipstick/v_ApplyLipstick_g01_c01.avi 1',
            'Archery/v_Archery_g01_c01.avi 2']
    assert _lines(tmp_path / 'label_map_ucf101.txt') == [
        'ApplyEyeMakeup', 'ApplyLipstick', 'Archery']
    with pytest.raises(ValueError, match='disagrees'):
        bvl.ucf101_entries('Archery/v_Archery_g08_c02.avi 1',
                           bvl.ucf101_classes(UCF_CLASSIND))


HMDB = {
    'brush_hair': (
        'April_09_brush_hair_u_nm_np1_ba_goo_0.avi 1 \n'
        'April_09_brush_hair_u_nm_np1_ba_goo_1.avi 2 \n'
        'Blonde_being_brushed_brush_hair_f_nm_np2_ri_med_0.avi 0 \n'),
    'cartwheel': (
        '(Rad)Schlag_die_Bank!_cartwheel_f_cm_np1_le_med_0.avi 2 \n'
        'Acrobacias_de_un_fenomeno_cartwheel_f_cm_np1_ba_bad_8.avi 1 \n'),
}


def test_hmdb51(tmp_path):
    ann = tmp_path / 'testTrainMulti_7030_splits'
    ann.mkdir()
    for cls, text in HMDB.items():
        for split in (1, 2, 3):
            (ann / f'{cls}_test_split{split}.txt').write_text(text)
    _run('hmdb51', '--ann-dir', str(ann), '--out-dir', str(tmp_path),
         '--splits', '1', '2')
    assert _lines(tmp_path / 'label_map_hmdb51.txt') == ['brush_hair',
                                                         'cartwheel']
    assert _lines(tmp_path / 'hmdb51_train_split_1_videos.txt') == [
        'brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi 0',
        'cartwheel/'
        'Acrobacias_de_un_fenomeno_cartwheel_f_cm_np1_ba_bad_8.avi 1']
    assert _lines(tmp_path / 'hmdb51_val_split_2_videos.txt') == [
        'brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_1.avi 0',
        'cartwheel/(Rad)Schlag_die_Bank!_cartwheel_f_cm_np1_le_med_0.avi 1']
    assert not (tmp_path / 'hmdb51_train_split_3_videos.txt').exists()


def test_lists_load_in_videodataset(tmp_path):
    """A written list is what MMAction2's VideoDataset reads."""
    from mmaction.datasets import VideoDataset
    path = str(tmp_path / 'list.txt')
    bvl.write_list([('a/x.mp4', 3), ('b/y.mp4', 0)], path)
    ds = VideoDataset(ann_file=path, pipeline=[],
                      data_prefix=dict(video=str(tmp_path)))
    assert len(ds) == 2
    assert ds.get_data_info(0)['label'] == 3
    assert ds.get_data_info(0)['filename'] == osp.join(str(tmp_path),
                                                       'a/x.mp4')
    with pytest.raises(ValueError, match='white space'):
        bvl.write_list([('a b.mp4', 0)], path)
