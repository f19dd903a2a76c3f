"""Loading real CLIP files into the CLIPViT family: every release format,
strictness, identity with the image model, resizing."""
import os
import pickle
import zipfile

import pytest
import torch

from mmaction_aim.checkpoint import (CheckpointMismatchError,
                                     ImageModelMismatchError,
                                     UnsafeCheckpointError)
from mmaction_aim.models.utils import (resize_positional_embedding,
                                       resize_temporal_embedding)
from conftest import call_tool
from .helpers import (TINY_ARCH, build_recognizer, clip_backbone,
                      open_clip_frame_features, save_torchscript_clip,
                      tiny_open_clip)


def _clip_file(fmt, model, tmp_path):
    """Write ``model`` in one of the formats CLIP weights come in."""
    path = tmp_path / f'clip_{fmt}.pt'
    state = model.state_dict()
    if fmt == 'openai_torchscript':
        save_torchscript_clip(model, path, image_size=16, half=False)
    elif fmt == 'full_state_dict':
        torch.save(state, path)
    elif fmt == 'visual_only':
        torch.save({k[len('visual.'):]: v for k, v in state.items()
                    if k.startswith('visual.')}, path)
    elif fmt == 'open_clip_checkpoint':
        torch.save(dict(epoch=3, name='run',
                        state_dict={f'module.{k}': v
                                    for k, v in state.items()}), path)
    elif fmt == 'open_clip_safetensors':
        # open_clip's own open_clip_model.safetensors (the hub's format).
        from safetensors.torch import save_file
        path = tmp_path / 'open_clip_model.safetensors'
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path


@pytest.mark.parametrize('fmt', [
    'openai_torchscript', 'full_state_dict', 'visual_only',
    'open_clip_checkpoint', 'open_clip_safetensors'
])
def test_identity_at_init_against_open_clip(fmt, tmp_path):
    clip = tiny_open_clip()
    path = _clip_file(fmt, clip, tmp_path)
    model = clip_backbone(path, num_frames=3).eval()
    torch.manual_seed(1)
    clips = torch.randn(2, 3, 3, 16, 16)
    with torch.no_grad():
        ours = model(clips)  # [B, D, T]
    frames = clips.transpose(1, 2).flatten(0, 1)  # [B*T, 3, H, W]
    expected = open_clip_frame_features(clip, frames).view(2, 3, -1)
    torch.testing.assert_close(ours, expected.transpose(1, 2), atol=1e-5,
                               rtol=1e-5)


def test_identity_at_init_vit_b16_openai_release(tmp_path):
    """ViT-B/16 from an fp16 TorchScript archive, as OpenAI released it."""
    import open_clip
    torch.manual_seed(0)
    clip = open_clip.create_model('ViT-B-16', pretrained=None,
                                  force_quick_gelu=True).eval()
    path = save_torchscript_clip(clip, tmp_path / 'ViT-B-16.pt', 224)
    model = clip_backbone(path, arch='ViT-B/16', input_resolution=224,
                          num_frames=2).eval()
    clip.half().float()  # the same rounding as the released fp16 weights
    clips = torch.randn(1, 3, 2, 224, 224)
    with torch.no_grad():
        ours = model(clips)
    expected = open_clip_frame_features(clip, clips[0].transpose(0, 1))
    torch.testing.assert_close(ours[0], expected.T, atol=1e-4, rtol=1e-4)


def test_torchscript_archive_is_read_without_running_code(tmp_path):
    marker = tmp_path / 'pwned'

    class Evil:

        def __reduce__(self):
            return (os.system, (f'touch {marker}', ))

    path = tmp_path / 'evil.pt'
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('evil/data.pkl', pickle.dumps({'x': Evil()}))
        archive.writestr('evil/constants.pkl', pickle.dumps(()))
        archive.writestr('evil/code/__torch__/model.py', 'pass')
    with pytest.raises(UnsafeCheckpointError, match='Refusing'):
        clip_backbone(path)
    assert not marker.exists()


def test_missing_clip_file_says_where_weights_come_from(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        clip_backbone(tmp_path / 'ViT-B-16.pt')
    message = str(info.value)
    assert 'ViT-B-16.pt' in message and 'openai/CLIP' in message
    assert 'convert_clip.py' in message and 'docs/model.md' in message


def test_loading_is_strict_and_names_keys(tmp_path):
    clip = tiny_open_clip()
    state = {k[len('visual.'):]: v for k, v in clip.state_dict().items()
             if k.startswith('visual.')}
    path = tmp_path / 'visual.pth'
    torch.save(state, path)
    # Another architecture: more layers than the file has, said as such.
    with pytest.raises(ImageModelMismatchError, match='2 blocks'):
        clip_backbone(path, arch=dict(TINY_ARCH, layers=3))
    # Unexpected keys are an error too.
    torch.save(dict(state, extra_head=torch.zeros(2)), path)
    with pytest.raises(ImageModelMismatchError, match='extra_head'):
        clip_backbone(path)
    # A missing image-model key is named.
    state.pop('ln_pre.weight')
    torch.save(state, path)
    with pytest.raises(ImageModelMismatchError, match=r'ln_pre\.weight'):
        clip_backbone(path)


def test_positional_embedding_resized_for_another_resolution(tmp_path):
    clip = tiny_open_clip()  # 16 px, patch 8: a 2x2 grid
    path = _clip_file('visual_only', clip, tmp_path)
    model = clip_backbone(path, input_resolution=32)  # a 4x4 grid
    expected = resize_positional_embedding(
        clip.visual.positional_embedding.detach(), 17)
    ours = model.image_model.positional_embedding.detach()
    torch.testing.assert_close(ours, expected)
    assert ours.shape == (17, 32)
    # Class-token row kept, corners of a bicubic resize near the originals.
    torch.testing.assert_close(expected[0],
                               clip.visual.positional_embedding[0].detach())


def test_resize_functions_are_pure_and_exact_when_unchanged():
    pos = torch.randn(5, 8)
    assert resize_positional_embedding(pos, 5) is pos
    temporal = torch.randn(1, 8, 4)
    out = resize_temporal_embedding(temporal, 16)
    assert out.shape == (1, 16, 4)
    torch.testing.assert_close(out[:, 0], temporal[:, 0])
    torch.testing.assert_close(out[:, -1], temporal[:, -1])
    torch.testing.assert_close(resize_temporal_embedding(out, 8).shape,
                               temporal.shape)
    with pytest.raises(ValueError):
        resize_positional_embedding(pos, 7)


def test_8_frame_checkpoint_tests_at_16_frames():
    """The loading pipeline interpolates the temporal embedding (an 8-frame
    model tested at 16 frames); a plain load_state_dict does not guess."""
    model8 = build_recognizer(num_frames=8)
    with torch.no_grad():
        model8.backbone.temporal_embedding.normal_()
    model16 = build_recognizer(num_frames=16)
    model16.load_checkpoint(dict(state_dict=model8.state_dict()))
    torch.testing.assert_close(
        model16.backbone.temporal_embedding.detach(),
        resize_temporal_embedding(
            model8.backbone.temporal_embedding.detach(), 16))
    assert model16.backbone(torch.randn(1, 3, 16, 16, 16)).shape == \
        (1, 32, 16)
    with pytest.raises(RuntimeError, match='temporal_embedding'):
        model16.load_state_dict(model8.state_dict())


def test_files_of_version_0_1_still_load():
    """mmaction-aim 0.1 kept CLIP's keys at the root of the backbone."""
    model = build_recognizer()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_()
    old = {(k.replace('backbone.image_model.', 'backbone.')): v
           for k, v in model.state_dict().items()}
    assert 'backbone.conv1.weight' in old
    other = build_recognizer()
    other.load_checkpoint(dict(state_dict=old), name='old.pth')
    for key, value in model.state_dict().items():
        assert torch.equal(other.state_dict()[key], value), key
    with pytest.raises(CheckpointMismatchError, match='old.pth'):
        other.load_checkpoint(dict(state_dict=dict(old, extra=torch.ones(1))),
                              name='old.pth')


def test_convert_clip_tool_writes_a_loadable_visual_file(tmp_path):
    clip = tiny_open_clip()
    src = _clip_file('openai_torchscript', clip, tmp_path)
    dst = tmp_path / 'visual.pth'
    out = call_tool(['convert/convert_clip.py', str(src), str(dst)]).stdout
    assert 'width 32, patch 8, 2 layers' in out
    state = torch.load(dst, weights_only=True)
    assert 'proj' not in state and not any(
        k.startswith(('transformer.resblocks.0.attn.', 'token_embedding'))
        and k.endswith('text') for k in state)
    # The written file gives the same backbone as the release it came from.
    torch.manual_seed(0)
    from_written = clip_backbone(dst).state_dict()
    torch.manual_seed(0)
    from_release = clip_backbone(src).state_dict()
    assert set(from_written) == set(from_release)
    for key, value in from_release.items():
        assert torch.equal(from_written[key], value), key
    image_keys = {k[len('image_model.'):] for k in from_release
                  if k.startswith('image_model.') and 'adapter' not in k}
    assert set(state) == image_keys
