"""Test-only visualizer backend that writes its file only when closed (as
TensorBoard's and W&B's writers flush on close)."""
import os
import os.path as osp

from mmengine.visualization import BaseVisBackend

from mmaction.registry import VISBACKENDS


@VISBACKENDS.register_module()
class WritesOnCloseBackend(BaseVisBackend):
    """Keeps the scalars it is given; writes ``closed.txt`` on close."""

    def __init__(self, save_dir: str) -> None:
        super().__init__(save_dir)
        self._scalars = []

    @property
    def experiment(self):
        return self

    def _init_env(self) -> None:
        os.makedirs(self._save_dir, exist_ok=True)

    def add_scalars(self, scalar_dict, step=0, file_path=None, **kwargs):
        self._scalars.append(step)

    def close(self) -> None:
        with open(osp.join(self._save_dir, 'closed.txt'), 'w') as f:
            f.write(f'{len(self._scalars)} scalar records\n')
