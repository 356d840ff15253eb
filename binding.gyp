# The native spawner (native/spawn.c), built at install time by native/build.mjs; when it
# does not build, smtpipe falls back to child_process at run time (Spawner = auto).
{
  "targets": [
    {
      "target_name": "smtpipe_spawn",
      "sources": ["native/spawn.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
