"""The frozen image-text model's own row: evaluating the model as
initialised, its classifier started from the class names
(:class:`~mmaction_aim.models.AIMTextHead`), before any training.

* :class:`ZeroShotValHook` (a config's ``custom_hooks``): a training run
  validates once before its first epoch, so its log starts with what the
  frozen image-text model gets alone (``Epoch(val) [0]``), then
  fine-tunes.
* ``tools/test.py CONFIG --zero-shot`` (the run's resolution,
  :mod:`.resolve`, adds :class:`ZeroShotTestHook`): tests that initial
  model, no checkpoint.

Both refuse a head that does not start from text, and a text model that is
not the backbone's image model's (:func:`check_zero_shot_model`).
"""
from mmengine.hooks import Hook
from mmengine.logging import MMLogger
from mmengine.model import is_model_wrapper

from mmaction.registry import HOOKS, MODELS
from ..models.heads import AIMTextHead
from ..models.text import check_pairing
from ..utils.errors import BadInputError


def is_text_head(head: dict) -> bool:
    """Whether a ``cls_head`` config builds an :class:`AIMTextHead` (or a
    subclass)."""
    kind = (head or {}).get('type')
    cls = MODELS.get(kind) if isinstance(kind, str) else kind
    return isinstance(cls, type) and issubclass(cls, AIMTextHead)


def check_zero_shot_model(model: dict, what: str) -> None:
    """Refuse a model whose scores at initialisation are not the image-text
    model's zero-shot scores.

    Args:
        model (dict): The config's ``model``.
        what (str): The option or hook asking, for the message.

    Raises:
        BadInputError: A head that does not start from the class names, no
            text or image weights (random ones would be evaluated), or a
            text model that is not the backbone's image model's (one
            sentence each). Text and image weights from two files are
            warned of (a converted copy of one file is fine).
    """
    head = (model or {}).get('cls_head') or {}
    if not is_text_head(head):
        raise BadInputError(
            f'{what} evaluates a classifier started from the class names, '
            f'but model.cls_head is {head.get("type")!r}, started from '
            'random numbers: use a config whose head is AIMTextHead (e.g. '
            'configs/few_shot/*_text.py)')
    backbone = model.get('backbone') or {}
    missing = [field for field, value in (
        ('model.cls_head.text_weights', head.get('text_weights')),
        ('model.backbone.pretrained', backbone.get('pretrained')))
        if not value]
    if missing:
        raise BadInputError(
            f'{what} evaluates the released image-text model, but '
            f'{" and ".join(missing)} {"is" if len(missing) == 1 else "are"} '
            'not set: its scores would be of random weights')
    image_model = backbone.get('image_model')
    if isinstance(image_model, dict):
        check_pairing(image_model, head['text_model'])
    if head['text_weights'] != backbone['pretrained']:
        MMLogger.get_current_instance().warning(
            f'{what}: the text tower comes from {head["text_weights"]}, the '
            f'image model from {backbone["pretrained"]}: both must be the '
            "same image-text model's weights (a converted copy of one file "
            'is), or the zero-shot row is of neither')


def _model_of(runner):
    return runner.model.module if is_model_wrapper(runner.model) else \
        runner.model


@HOOKS.register_module()
class ZeroShotValHook(Hook):
    """Validate a fresh training run once before its first epoch: the
    frozen image-text model's zero-shot row, logged as ``Epoch(val) [0]``.

    It runs last of the hooks before training (priority ``'LOWEST'``), so
    that the hooks validation reports to are ready (the checkpoint hook's
    ``save_best`` sets its file backend in its own ``before_train``). A
    resumed run (past iteration 0) is not validated again. With
    ``save_best`` in the checkpoint hook, the zero-shot model counts as the
    epoch-0 candidate (``best_*_epoch_0.pth`` where fine-tuning never beats
    it). With a run seed, AIM's loops reseed every iteration, so training
    draws the same random numbers with or without this hook.
    """

    priority = 'LOWEST'

    def before_run(self, runner) -> None:
        """Refuse a model whose initial scores are not zero-shot scores
        (:func:`check_zero_shot_model`), before anything is loaded."""
        check_zero_shot_model(runner.cfg.get('model'), 'ZeroShotValHook')

    def before_train(self, runner) -> None:
        """Run the validation loop once, unless resuming or not
        validating."""
        if runner.iter > 0:
            runner.logger.info(f'ZeroShotValHook: resumed at iteration '
                               f'{runner.iter}; the zero-shot row is in the '
                               'first run\'s log')
            return
        if runner.val_loop is None:
            runner.logger.warning('ZeroShotValHook: the run does not '
                                  'validate (no val_dataloader): no '
                                  'zero-shot row')
            return
        runner.logger.info(
            'ZeroShotValHook: validating the model as initialised (the '
            'frozen image-text model, its classifier from the class names) '
            'before training: Epoch(val) [0]')
        runner.val_loop.run()


@HOOKS.register_module()
class ZeroShotTestHook(Hook):
    """Initialise the model before testing, as a training run does before
    its first iteration (MMEngine's test loads a checkpoint instead): the
    image model from its file, fresh adapters, the classifier from the
    class names. Added by ``tools/test.py --zero-shot``.

    Raises:
        BadInputError: The run also loads a checkpoint (``load_from``).
    """

    def before_test(self, runner) -> None:
        if runner.cfg.get('load_from'):
            raise BadInputError(
                f'ZeroShotTestHook tests the model as initialised, but '
                f'load_from is {runner.cfg.load_from!r}: remove one')
        model = _model_of(runner)
        model.init_weights()
        runner.logger.info('ZeroShotTestHook: testing the model as '
                           'initialised (zero-shot), no checkpoint')
