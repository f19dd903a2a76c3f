"""Install mmaction-aim, the AIM (ICLR 2023) plugin for MMAction2 1.x."""
from setuptools import find_packages, setup

# Pinned to the releases this plugin is tested against. mmaction2 1.2.0
# imports `importlib_metadata` without declaring it, and mmengine 0.10.7
# imports `pkg_resources` (removed from setuptools 82) for `mmaction::`
# base configs; both are declared here.
INSTALL_REQUIRES = [
    'torch>=2.1,<=2.14.1',
    'torchvision',
    'mmengine==0.10.7',
    'mmcv-lite==2.1.0',
    'mmaction2==1.2.0',
    'decord>=0.6.0',
    'timm>=0.9',
    'importlib_metadata',
    'setuptools<82',
    'matplotlib',
]

EXTRAS_REQUIRE = {
    'tests': ['pytest>=7', 'open_clip_torch>=2.20'],
}

setup(
    name='mmaction-aim',
    version='0.1.0',
    description='AIM: Adapting Image Models for Efficient Video Action '
    'Recognition, as an MMAction2 1.x plugin',
    long_description=open('README.md').read() if __import__('os').path.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmaction_aim', 'mmaction_aim.*']),
    python_requires='>=3.8',
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    license='Apache-2.0',
)
