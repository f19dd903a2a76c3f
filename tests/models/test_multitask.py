"""Several tasks on one frozen image model: each task's scores equal its
own full model's; one copy of the image model is held."""
import pytest
import torch

from mmaction_aim.checkpoint import CheckpointMismatchError, read_checkpoint
from mmaction_aim.models import MultiTaskAIM
from .helpers import build_recognizer, clips, randomise_adapters, \
    tiny_open_clip

TASKS = {
    # A Kinetics-like task and an SSv2-like one (a fourth adapter, scale 1,
    # another class count): other adapter structures, one image model.
    'k400': dict(num_classes=5, backbone_extra=dict()),
    'ssv2': dict(num_classes=3,
                 backbone_extra=dict(num_tadapter=2, adapter_scale=1.0)),
}


def _task_models(image_model, tmp_path, seed_offset=0):
    """Each task trained (random adapters and head), saved adapter-only,
    and a fresh model of it merged from that file."""
    merged = {}
    for i, (task, spec) in enumerate(TASKS.items()):
        extra = dict(spec['backbone_extra'], pretrained=image_model)
        trained = build_recognizer(input_resolution=16, num_frames=4,
                                   num_classes=spec['num_classes'],
                                   backbone_extra=extra)
        trained.init_weights()
        torch.manual_seed(10 + i + seed_offset)
        randomise_adapters(trained)
        path = tmp_path / f'{task}_adapters.pth'
        trained.save_adapters(str(path))
        model = build_recognizer(input_resolution=16, num_frames=4,
                                 num_classes=spec['num_classes'],
                                 backbone_extra=extra)
        model.load_checkpoint(read_checkpoint(str(path)), name=str(path))
        merged[task] = (trained.eval(), model.eval())
    return merged


def _clip_file(path, seed):
    torch.save(tiny_open_clip(seed=seed).state_dict(), path)
    return str(path)


def test_each_task_gives_its_own_models_scores(tmp_path):
    image_model = _clip_file(tmp_path / 'clip.pth', 0)
    models = _task_models(image_model, tmp_path)
    inputs = clips(batch=2, views=2, frames=4, size=16)
    expected = {}
    with torch.no_grad():
        for task, (full, _) in models.items():
            scores = full(inputs, mode='tensor', stage='head')
            expected[task] = full.cls_head.average_clip(scores, num_segs=2)
    shared = MultiTaskAIM({t: m for t, (_, m) in models.items()}).eval()
    a, b = (shared.tasks[t].backbone.image_model for t in TASKS)
    frozen = [n for n, p in a.named_parameters() if not p.requires_grad]
    for name in frozen:  # one tensor, not two
        assert a.get_parameter(name) is b.get_parameter(name)
    assert shared.freed_bytes == sum(
        a.get_parameter(n).numel() * 4 for n in frozen)
    with torch.no_grad():
        for task in ('ssv2', 'k400', 'ssv2'):  # switching per call
            torch.testing.assert_close(shared(task, inputs),
                                       expected[task], rtol=0, atol=0)
    with pytest.raises(KeyError, match='tasks'):
        shared('diving48', inputs)


def test_tasks_of_other_image_weights_are_refused(tmp_path):
    first = _task_models(_clip_file(tmp_path / 'a.pth', 0), tmp_path)
    other = _task_models(_clip_file(tmp_path / 'b.pth', 1), tmp_path)
    with pytest.raises(CheckpointMismatchError, match='other image-model'):
        MultiTaskAIM({'k400': first['k400'][1], 'ssv2': other['ssv2'][1]})


def test_models_frozen_for_inference_share_the_same(tmp_path):
    """``requires_grad_(False)`` on every parameter (usual before
    deployment) changes nothing: the shared set is structural (before, the
    output norm and adapters were taken for image-model weights and the
    tasks refused as other image models)."""
    models = _task_models(_clip_file(tmp_path / 'clip.pth', 0), tmp_path)
    reference = MultiTaskAIM({t: m for t, (_, m) in models.items()})
    frozen = {t: m.requires_grad_(False) for t, (_, m) in
              _task_models(_clip_file(tmp_path / 'clip.pth', 0),
                           tmp_path).items()}
    shared = MultiTaskAIM(frozen)
    assert shared.freed_bytes == reference.freed_bytes > 0
    inputs = clips(batch=1, views=1, frames=4, size=16)
    with torch.no_grad():
        for task in TASKS:
            torch.testing.assert_close(shared(task, inputs),
                                       reference(task, inputs), rtol=0,
                                       atol=0)
