# The native spawner (native/spawn.c) and line-ending scans (native/line-endings.c), built
# at install time by native/build.mjs. When they do not build, smtpipe falls back to
# child_process (Spawner = auto) and to the JavaScript scans at run time.
{
  "targets": [
    {
      "target_name": "smtpipe_spawn",
      "sources": ["native/spawn.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    },
    {
      "target_name": "smtpipe_line_endings",
      "sources": ["native/line-endings.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
