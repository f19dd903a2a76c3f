# tiny_recognizer.py, held still after iteration 4 (mid-epoch 2) so that a
# test can SIGKILL it there.
_base_ = ['./tiny_recognizer.py']

custom_imports = dict(
    imports=['mmaction_aim', 'tests.configs.pause_hook'],
    allow_failed_imports=False)
custom_hooks = [dict(type='PauseAfterIterHook', iteration=4)]
