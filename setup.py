"""Install mmaction-aim, the AIM (ICLR 2023) plugin for MMAction2 1.x."""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))

# The releases this plugin is tested against; the lower bounds of torch and
# timm were verified by running the whole test suite in a second environment
# (torch 2.6.0 / torchvision 0.21.0 / timm 1.0.21 / numpy 1.26; see
# docs/versions.md); the upper bounds are the newest tested. torch >= 2.6:
# the safe checkpoint loader's allow-list names some objects by a full name
# of its own (`(obj, 'module.name')` entries) and relies on `weights_only`
# errors and `get_unsafe_globals_in_checkpoint` as 2.6 has them. timm >=
# 1.0.21: builds every supported family on the meta device
# (`calculate_drop_path_rates`), EVA's `norm_pre`, Swin's `always_partition`;
# timm <= 1.0.31, the newest tested: the families use a few private parts of
# timm (mmaction_aim/models/families/timm_private.py, each checked by
# tests/models/test_timm_private.py).
# MMEngine/MMCV require `opencv-python` and MMAction2 `opencv-contrib-python`;
# both install the one `cv2` module, so they are pinned to one release.
# mmaction2 1.2.0 imports `importlib_metadata` without declaring it, and
# mmengine 0.10.7 imports `pkg_resources` (gone from setuptools 82; our
# compat layer no longer needs it, other OpenMMLab code may), so both are
# declared here. imageio-ffmpeg ships an FFmpeg binary with libx264 and
# libvpx: tools/data/resize_videos.py and the real-codec test fixtures encode
# with it, no system package needed. PyAV is SparseDecode's decoder, which a
# shipped config trains with (configs/ablations/aim_vitb_k400_repeat2.py,
# `decoder='sparse'`), so it is a dependency, not a test extra (its wheel's
# FFmpeg libraries are also what torchcodec loads); torchcodec (tests; 0.17.0
# is the release tested with torch 2.14.1) the maintained decoder, whose
# FFmpeg libraries tools/setup_env.sh finds in PyAV's wheel. pytest-xdist
# (tests): the suite runs on two processes (tools/run_tests.sh), half its
# time being tools' subprocesses and decoding. open_clip_torch: the text head
# (AIMTextHead, docs/few_shot.md) builds the text towers of CLIP, SigLIP and
# PE-Core from its model configs, with its CLIP tokenizer (its vocabulary
# ships with it: no download) and one private builder
# (`open_clip.model._build_text_tower`, checked by tests/test_text_head.py);
# >= 3.0: PE-Core's configs (3.0.0 has them, 2.32.0 not);
# tests/test_text_head.py and tests/test_few_shot.py pass on 3.0.0 and 3.3.0,
# the newest tested (the whole suite ran on 3.3.0 only).
INSTALL_REQUIRES = [
    'torch>=2.6,<=2.14.1',
    'torchvision>=0.21,<=0.29.1',
    'mmengine==0.10.7',
    'mmcv-lite==2.1.0',
    'mmaction2==1.2.0',
    'decord==0.6.0',
    'timm>=1.0.21,<=1.0.31',
    'numpy',
    'opencv-python==4.11.0.86',
    'opencv-contrib-python==4.11.0.86',
    'importlib_metadata',
    'setuptools<82',
    'matplotlib',
    'imageio-ffmpeg>=0.5',
    'av>=12',
    'open_clip_torch>=3.0,<=3.3.0',
]

EXTRAS_REQUIRE = {
    'tests': ['pytest>=7', 'ruff>=0.5',
              'torchcodec==0.17.0', 'pytest-xdist>=3', 'onnx', 'onnxscript',
              'onnxruntime'],
    # tools/deployment/export.py: ONNX export (torch.onnx's dynamo exporter
    # needs onnx and onnxscript) and its check on ONNX Runtime.
    'deploy': ['onnx', 'onnxscript', 'onnxruntime'],
}


def readme() -> str:
    path = osp.join(HERE, 'README.md')
    if not osp.exists(path):
        return ''
    with open(path, encoding='utf-8') as f:
        return f.read()


setup(
    name='mmaction-aim',
    version='0.1.0',
    description='AIM: Adapting Image Models for Efficient Video Action '
    'Recognition, as an MMAction2 1.x plugin',
    long_description=readme(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmaction_aim', 'mmaction_aim.*']),
    # The probe file torchcodec's availability is checked with.
    package_data={'mmaction_aim': ['datasets/transforms/probe.mp4']},
    python_requires='>=3.10',
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    license='Apache-2.0',
)
