"""cc_static_archive: one static library holding every object of the project's deps.

Bazel 4.2.3 has no cc_static_library: a cc_library's archive holds only its own sources. This
rule merges the archives of every project library the deps link (those of this workspace;
Debian's libraries stay external and are listed in persephonee.pc) with the C++ toolchain's
`ar` in MRI mode (`ar -M`), preferring the position-independent ones, so the archive can also
go into an app's shared library.
"""

load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain")

def _impl(ctx):
    cc_toolchain = find_cpp_toolchain(ctx)
    archives = []
    seen = {}
    for dep in ctx.attr.deps:
        for linker_input in dep[CcInfo].linking_context.linker_inputs.to_list():
            for lib in linker_input.libraries:
                archive = lib.pic_static_library or lib.static_library
                if archive == None or archive.owner.workspace_name != "":
                    continue
                if archive.path not in seen:
                    seen[archive.path] = True
                    archives.append(archive)
    out = ctx.outputs.out
    script = ctx.actions.declare_file(ctx.label.name + ".mri")
    lines = ["create " + out.path]
    lines += ["addlib " + a.path for a in archives]
    lines += ["save", "end", ""]
    ctx.actions.write(script, "\n".join(lines))
    ctx.actions.run_shell(
        inputs = archives + [script],
        outputs = [out],
        tools = cc_toolchain.all_files,
        command = "\"$1\" -M < \"$2\"",
        arguments = [cc_toolchain.ar_executable, script.path],
        mnemonic = "StaticArchive",
        progress_message = "Merging %d archives into %s" % (len(archives), out.short_path),
    )
    return [DefaultInfo(files = depset([out]))]

cc_static_archive = rule(
    implementation = _impl,
    attrs = {
        "deps": attr.label_list(providers = [CcInfo]),
        "out": attr.output(mandatory = True),
        "_cc_toolchain": attr.label(default = "@bazel_tools//tools/cpp:current_cc_toolchain"),
    },
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
    incompatible_use_toolchain_transition = True,
)
