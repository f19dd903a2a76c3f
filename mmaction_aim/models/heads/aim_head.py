"""AIM's classification head."""
import torch
from mmengine.model.weight_init import normal_init
from torch import nn

from mmaction.models.heads import BaseHead
from mmaction.registry import MODELS
from mmaction.utils import SampleList
from ...utils.views import protocol_views


@MODELS.register_module()
class AIMHead(BaseHead):
    """Average per-frame features over time, dropout, linear classifier.

    Equals the I3D head of the original AIM on its ``[B, D, T, 1, 1]``
    features; the classifier is named ``fc_cls`` so that the original
    checkpoints' ``cls_head.fc_cls.*`` load. Label smoothing
    (``label_smooth_eps``) and multi-view score averaging (``average_clips``:
    ``'prob'``, ``'score'`` or None) come from MMAction2's
    :class:`BaseHead`. Where the test pipeline samples the views of several
    protocols at once (``MultiProtocolSampleFrames``), each protocol's
    views are averaged on their own into ``protocol_scores``; ``pred_score``
    is the first protocol's.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Feature width ``D``.
        loss_cls (dict): Classification loss. Defaults to
            ``dict(type='CrossEntropyLoss')``.
        dropout_ratio (float): Dropout before ``fc_cls``. Defaults to 0.5.
        init_std (float): Std of ``fc_cls``'s normal initialisation.
            Defaults to 0.01, the original's (MMAction2 0.x ``I3DHead``).
        **kwargs: ``label_smooth_eps``, ``average_clips``, ``multi_class``,
            ``topk``, ``init_cfg`` of :class:`BaseHead`.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss_cls: dict = dict(type='CrossEntropyLoss'),  # noqa: B006
                 dropout_ratio: float = 0.5,
                 init_std: float = 0.01,
                 **kwargs) -> None:
        super().__init__(num_classes, in_channels, loss_cls, **kwargs)
        self.init_std = init_std
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio > 0 else \
            nn.Identity()
        self.fc_cls = nn.Linear(in_channels, num_classes)

    def init_weights(self) -> None:
        """Normal-initialise ``fc_cls`` with a zero bias."""
        normal_init(self.fc_cls, std=self.init_std, bias=0)

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """Class scores from per-frame features.

        Args:
            x (torch.Tensor): ``[B, D, T]`` (or ``[B, D, T, 1, 1]``, the
                original layout; any trailing dimensions are averaged too).

        Returns:
            torch.Tensor: ``[B, num_classes]``.
        """
        x = x.flatten(2).mean(dim=2)  # [B, D]
        return self.fc_cls(self.dropout(x))  # [B, num_classes]

    def loss_by_feat(self, cls_scores: torch.Tensor,
                     data_samples: SampleList) -> dict:
        """MMAction2's loss and top-k accuracy, on the scores in float32.

        Under mixed precision (``optim_wrapper.dtype='bfloat16'``, or CPU
        autocast) the classifier gives bfloat16 or float16 scores, which
        MMAction2's accuracy turns into NumPy arrays (NumPy has no
        bfloat16: a TypeError at the first loss); the loss is computed in
        float32 anyway, as autocast does for cross-entropy.
        """
        return super().loss_by_feat(cls_scores.float(), data_samples)

    def predict_by_feat(self, cls_scores: torch.Tensor,
                        data_samples: SampleList) -> SampleList:
        """Scores of every sample, averaged over its views; per protocol
        where the sample names its protocols' views."""
        specs = [s.metainfo.get('protocols') for s in data_samples]
        if not any(specs):
            return super().predict_by_feat(cls_scores, data_samples)
        num_views = cls_scores.shape[0] // len(data_samples)
        per_sample = cls_scores.view(len(data_samples), num_views, -1)
        for sample, scores, spec in zip(data_samples, per_sample, specs,
                                        strict=True):
            by_protocol = {}
            for name, protocol in spec.items():
                views = protocol_views(protocol, num_views)
                by_protocol[name] = self.average_clip(
                    scores[views], num_segs=len(views))[0]
            main = next(iter(by_protocol.values()))
            sample.set_pred_score(main)
            sample.set_pred_label(main.argmax(dim=-1, keepdim=True).detach())
            sample.set_field(by_protocol, 'protocol_scores')
        return data_samples
