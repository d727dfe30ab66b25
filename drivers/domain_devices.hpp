#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ferry {

/// `<disk>`: a file or block device the guest sees as a disk or CD-ROM
/// (libvirt's domain XML, "Hard drives, floppy disks, CDROMs").
struct disk_device {
  std::string device = "disk"; ///< `disk` or `cdrom`.
  std::string source_type = "file"; ///< `file` or `block`.
  std::string source; ///< Absolute path; empty for a CD-ROM without medium.
  std::string format = "raw"; ///< `raw` or `qcow2`.
  std::string cache; ///< Empty (QEMU's default, writeback) or libvirt's modes.
  std::string target; ///< `vda`, `sda`, `hdc`: unique per domain.
  std::string bus; ///< `virtio`, `sata` or `ide`.
  bool readonly = false;
  bool shareable = false;
  std::string serial; ///< What the guest reads as the disk's serial number.
  uint32_t boot_order = 0; ///< `<boot order='N'/>`, 0 = none.
};

/// `<interface>`: a NIC and what it connects to on the host.
struct net_device {
  std::string type; ///< `user`, `bridge` or `ethernet`.
  std::string mac;  ///< Lowercase `52:54:00:…`; generated at define if absent.
  std::string model = "virtio"; ///< `virtio` or `e1000`.
  std::string bridge; ///< `<source bridge=…>` (type bridge).
  std::string target_dev; ///< `<target dev=…>`: the host's tap device.
  uint32_t boot_order = 0;
};

/// `<serial>` (or a `<console>` that stands for one): a 16550 UART.
struct serial_device {
  std::string type; ///< `pty` or `file`.
  std::string path; ///< `<source path=…>` (type file).
  bool append = false; ///< `<source append='on'>` (type file).
  uint32_t port = 0; ///< `<target port=…>`: ttyS0, ttyS1, …
};

/// `<cpu>`: which CPU model the guest sees.
struct cpu_spec {
  std::string mode; ///< Empty (QEMU's default), `host-passthrough`,
                    ///< `host-model` or `custom`.
  std::string model; ///< `<model>` for mode custom, e.g. `Skylake-Client`.
  /// `<feature policy=… name=…>`: name and whether the guest gets it
  /// (require, force) or not (disable, forbid).
  std::vector<std::pair<std::string, bool>> features;
  /// `<topology sockets cores threads>`, all 0 when not given.
  uint32_t sockets = 0, cores = 0, threads = 0;
};

/// The hardware of a domain beyond memory and vCPUs, in document order:
/// QEMU lays out devices from this order, so the same definition gives the
/// same machine on both sides of a migration.
struct domain_devices {
  std::vector<disk_device> disks;
  std::vector<net_device> nets;
  std::vector<serial_device> serials;
};

} // namespace ferry
