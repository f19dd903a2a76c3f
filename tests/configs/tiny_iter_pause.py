# tiny_iter.py, held still after iteration 4 so that a test can SIGKILL it.
_base_ = ['./tiny_iter.py']

custom_imports = dict(
    imports=['mmaction_aim', 'tests.configs.pause_hook'],
    allow_failed_imports=False)
custom_hooks = [dict(type='PauseAfterIterHook', iteration=4)]
