"""The optimizer-wrapper constructor: MMEngine's, with one log line for the
frozen image model instead of a warning per parameter."""
from conftest import captured_log_records
from models.helpers import build_recognizer


def _build(constructor):
    from mmengine.optim import build_optim_wrapper

    import mmaction_aim  # noqa: F401
    model = build_recognizer()
    with captured_log_records() as records:
        wrapper = build_optim_wrapper(model, dict(
            type='OptimWrapper', constructor=constructor,
            optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
            paramwise_cfg=dict(norm_decay_mult=0.)))
    return model, wrapper, [r.getMessage() for r in records]


def test_one_line_for_the_frozen_parameters_and_the_same_optimizer():
    model, ours, messages = _build('AIMOptimWrapperConstructor')
    _, default, default_messages = _build('DefaultOptimWrapperConstructor')
    frozen = sum(1 for p in model.parameters() if not p.requires_grad)
    assert sum('requires_grad=False' in m for m in default_messages) == frozen
    assert not any('requires_grad=False' in m for m in messages)
    assert [m for m in messages if 'do not train' in m] == [
        f'{frozen} parameters that do not train (the frozen image model) '
        'are not given to the optimizer']
    assert [(len(g['params']), g['lr'], g['weight_decay'])
            for g in ours.optimizer.param_groups] == [
        (len(g['params']), g['lr'], g['weight_decay'])
        for g in default.optimizer.param_groups]
    assert all(p.requires_grad for g in ours.optimizer.param_groups
               for p in g['params'])
