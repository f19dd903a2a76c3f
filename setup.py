"""Install mmaction-aim, the AIM (ICLR 2023) plugin for MMAction2 1.x."""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))

# The releases this plugin is tested against. torch >= 2.5 for the
# weights-only loading API the safe checkpoint loader uses (`safe_globals`,
# `get_unsafe_globals_in_checkpoint`); the upper bounds are the newest tested.
# mmaction2 1.2.0 imports `importlib_metadata` without declaring it, and
# mmengine 0.10.7 imports `pkg_resources` (gone from setuptools 82; our
# compat layer no longer needs it, other OpenMMLab code may), so both are
# declared here.
INSTALL_REQUIRES = [
    'torch>=2.5,<=2.14.1',
    'torchvision>=0.20,<=0.29.1',
    'mmengine==0.10.7',
    'mmcv-lite==2.1.0',
    'mmaction2==1.2.0',
    'decord==0.6.0',
    'timm>=0.9',
    'numpy',
    'opencv-python',
    'importlib_metadata',
    'setuptools<82',
    'matplotlib',
]

EXTRAS_REQUIRE = {
    'tests': ['pytest>=7', 'open_clip_torch>=2.20', 'ruff>=0.5'],
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
    python_requires='>=3.10',
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    license='Apache-2.0',
)
