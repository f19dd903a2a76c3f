# Set up (or reuse) the virtual environment of this checkout; source it:
#
#   source tools/setup_env.sh
#
# Creates .venv with ${PYTHON:-python3} if there is none, installs the package
# editable with its test extra (`pip install -e .[tests]`), and activates it.
# The install is skipped when setup.py is unchanged since the last one and
# the package imports.
_aim_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_aim_venv="$_aim_root/.venv"

if [ ! -x "$_aim_venv/bin/python" ]; then
    echo "[setup_env] creating $_aim_venv with ${PYTHON:-python3}" >&2
    "${PYTHON:-python3}" -m venv "$_aim_venv" || return 1 2>/dev/null || exit 1
fi
# shellcheck disable=SC1091
. "$_aim_venv/bin/activate"

_aim_stamp="$_aim_venv/.mmaction_aim_setup"
_aim_hash="$(cat "$_aim_root/setup.py" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$_aim_stamp" 2>/dev/null)" != "$_aim_hash" ] || \
        ! (cd "$_aim_root" && python -c "import mmaction_aim" >/dev/null 2>&1); then
    echo "[setup_env] installing mmaction-aim and its dependencies (a few minutes the first time)" >&2
    if (cd "$_aim_root" && python -m pip install --upgrade "pip>=23" >&2 && \
            python -m pip install -e ".[tests]" >&2); then
        echo "$_aim_hash" > "$_aim_stamp"
    else
        echo "[setup_env] pip install failed" >&2
        return 1 2>/dev/null || exit 1
    fi
fi
# torchcodec (a maintained decoder, optional) loads FFmpeg's shared
# libraries when it first decodes. Without system ones, point it at the
# FFmpeg that PyAV's wheel bundles: its files carry hashed names, so they are
# linked under their sonames in .venv/ffmpeg-libs. The export is also written
# into .venv/bin/activate (one marked line, replaced on each run), so that
# activating .venv alone finds them; without it TorchCodecInit decodes with
# decord and warns once per process.
_aim_mark='# mmaction-aim: FFmpeg for torchcodec (tools/setup_env.sh)'
if ! ldconfig -p 2>/dev/null | grep -q 'libavutil\.so'; then
    _aim_avlibs="$(python -c 'import av, os; print(os.path.join(os.path.dirname(os.path.dirname(av.__file__)), "av.libs"))' 2>/dev/null || true)"
    if [ -n "$_aim_avlibs" ] && [ -d "$_aim_avlibs" ]; then
        mkdir -p "$_aim_venv/ffmpeg-libs"
        for _aim_lib in "$_aim_avlibs"/libav*.so.* "$_aim_avlibs"/libsw*.so.*; do
            [ -e "$_aim_lib" ] || continue
            _aim_name="$(basename "$_aim_lib" | sed -E 's/-[0-9a-f]{8}//; s/(\.so\.[0-9]+).*/\1/')"
            ln -sf "$_aim_lib" "$_aim_venv/ffmpeg-libs/$_aim_name"
        done
        # Prepends once however often it runs (activating twice included).
        _aim_hook="case \":\${LD_LIBRARY_PATH:-}:\" in *\":$_aim_venv/ffmpeg-libs:\"*) ;; *) export LD_LIBRARY_PATH=\"$_aim_venv/ffmpeg-libs:$_aim_avlibs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\" ;; esac  $_aim_mark"
        sed -i "\\|$_aim_mark|d" "$_aim_venv/bin/activate"
        printf '%s\n' "$_aim_hook" >> "$_aim_venv/bin/activate"
        eval "$_aim_hook"
    fi
    unset _aim_avlibs _aim_lib _aim_name _aim_hook
fi
unset _aim_stamp _aim_hash _aim_venv _aim_mark
export MMACTION_AIM_ROOT="$_aim_root"
unset _aim_root
