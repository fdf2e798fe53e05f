# Modules stage 1 loads from the initramfs, in dependency order
# (modinfo -F depends), to reach a virtio disk with an erofs root.
# ext4 and jbd2 are built into Debian's cloud kernel.
virtio_ring
virtio
virtio_pci_modern_dev
virtio_pci_legacy_dev
virtio_pci
virtio_blk
libcrc32c
erofs
