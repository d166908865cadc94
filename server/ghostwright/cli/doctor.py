"""`ghostwright doctor`: everything needed to tell why completions do or do not appear."""

from __future__ import annotations

import dataclasses
import platform
import sys

import platformdirs

from ghostwright import __version__
from ghostwright.engine.gguf import read_gguf
from ghostwright.engine.local import llama_build_info, read_fim_tokens
from ghostwright.engine.models import models_dir, resolve_model_path
from ghostwright.errors import GhostwrightError
from ghostwright.settings import APP_NAME, ENV_NAMES, camel_case, config_file, resolve_settings


def doctor_report() -> str:
    lines = [f"Ghostwright {__version__}"]
    lines.append(f"Python       {sys.version.split()[0]} ({platform.platform()})")
    build = llama_build_info()
    offload = "yes" if build["gpu_offload"] else "no (CPU build)"
    lines.append(
        f"llama.cpp    llama-cpp-python {build['llama_cpp_python']}; GPU offload: {offload}"
    )
    lines.append(f"             {build['system_info']}")

    resolved = resolve_settings()
    settings = resolved.settings
    lines.append("")
    lines.append("Model")
    try:
        path = resolve_model_path(settings)
        info = read_gguf(path)
        fim = read_fim_tokens(path)
        lines.append(f"  path         {path}")
        lines.append(f"  size         {info.size_bytes / 1e6:.1f} MB")
        lines.append(f"  name         {info.name}")
        lines.append(f"  architecture {info.architecture}")
        lines.append(f"  context      {info.context_length} tokens (trained)")
        if fim is None:
            lines.append("  FIM tokens   none: prefix-only prompts")
        else:
            lines.append(
                f"  FIM tokens   prefix={fim.prefix} suffix={fim.suffix} middle={fim.middle} "
                f"(from {fim.source}, {fim.order.upper()} order)"
            )
    except GhostwrightError as exc:
        lines.append(f"  PROBLEM: {exc}")

    lines.append("")
    lines.append(f"Settings (file: {config_file()})")
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        source = resolved.sources.get(field.name, "default")
        lines.append(
            f"  {camel_case(field.name):<14} {value!r:<24} from {source} ({ENV_NAMES[field.name]})"
        )
    for warning in resolved.warnings:
        lines.append(f"  WARNING: {warning}")

    lines.append("")
    lines.append("Directories")
    lines.append(f"  config  {platformdirs.user_config_dir(APP_NAME)}")
    lines.append(f"  data    {platformdirs.user_data_dir(APP_NAME)}")
    lines.append(f"  cache   {platformdirs.user_cache_dir(APP_NAME)}")
    lines.append(f"  models  {models_dir()}")
    return "\n".join(lines)
