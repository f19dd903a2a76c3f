# The tiny config with a visualizer backend that writes only when closed,
# and no LoggerHook (which would otherwise close the visualizer itself).
_base_ = ['./tiny_recognizer.py']

custom_imports = dict(
    imports=['mmaction_aim', 'tests.configs.close_writer'],
    allow_failed_imports=False)
visualizer = dict(
    type='ActionVisualizer',
    vis_backends=[dict(type='LocalVisBackend'),
                  dict(type='WritesOnCloseBackend')])
default_hooks = dict(logger=None)
