//! `svirt attach-disk` / `svirt detach-disk`: disk hotplug for a VM whose
//! profile is loaded (e.g. one started with `svirt exec`), through the
//! driver, as a VM manager would do it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use svirt::domain::{parse_domain, Domain, Limits, StorageSource, StorageType};
use svirt::driver::{AppArmorConfig, AppArmorDriver, SecurityDriver, SecurityLabel, Vm};
use svirt::policy::ProfileName;

#[derive(Debug, clap::Args)]
pub struct AttachArgs {
    /// The VM's definition, including the new disk: the helper then keeps
    /// the disk's backing layers read-only, as at start. (Without the disk
    /// in it, every layer is granted `rwk`, as libvirt does.)
    #[arg(long)]
    domain: PathBuf,
    /// The helper that updates the profile. Default: the `virt-aa-helper`
    /// next to this `svirt` binary.
    #[arg(long)]
    helper: Option<PathBuf>,
    /// The image's format; its backing chain is read from its header
    /// unless it is `raw`.
    #[arg(long, default_value = "qcow2")]
    format: String,
    /// The disk image to grant.
    image: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct DetachArgs {
    /// The VM's definition after the disk was removed from it.
    #[arg(long)]
    domain: PathBuf,
    #[arg(long)]
    helper: Option<PathBuf>,
    /// The disk image that was removed.
    image: PathBuf,
}

fn driver(helper: &Option<PathBuf>) -> Result<AppArmorDriver> {
    let mut config = AppArmorConfig::bundled().context("cannot locate the svirt executable")?;
    if let Some(h) = helper {
        config.helper = h.clone();
    }
    if !config.helper.is_file() {
        bail!(
            "the AppArmor helper {} does not exist (pass --helper)",
            config.helper.display()
        );
    }
    Ok(AppArmorDriver::new(config))
}

fn load(path: &Path) -> Result<(Domain, String)> {
    let xml = crate::read_domain(path)?;
    let domain =
        parse_domain(&xml, &Limits::default()).with_context(|| format!("{}", path.display()))?;
    Ok((domain, xml))
}

fn image_source(image: &Path, format: Option<&str>) -> Result<StorageSource> {
    let path = image
        .to_str()
        .with_context(|| format!("{} is not UTF-8", image.display()))?;
    let mut src = StorageSource::new(StorageType::File, Some(path.to_owned()));
    src.format = format.map(str::to_owned);
    Ok(src)
}

/// Runs one driver call for the running VM described by `domain`.
fn with_running_vm(
    domain: &Path,
    helper: &Option<PathBuf>,
    call: impl FnOnce(&AppArmorDriver, &Vm<'_>) -> Result<(), svirt::driver::DriverError>,
    what: impl FnOnce(&str) -> String,
) -> Result<ExitCode> {
    let (domain, xml) = load(domain)?;
    let profile = ProfileName::for_uuid(&domain.uuid);
    let label = SecurityLabel::generated(&profile);
    let vm = Vm {
        domain: &domain,
        xml: &xml,
        label: &label,
    };
    call(&driver(helper)?, &vm).with_context(|| what(profile.as_str()))?;
    Ok(ExitCode::SUCCESS)
}

pub fn attach(args: &AttachArgs) -> Result<ExitCode> {
    let src = image_source(&args.image, Some(&args.format))?;
    with_running_vm(
        &args.domain,
        &args.helper,
        |driver, vm| driver.set_image_label(vm, &src),
        |profile| format!("cannot grant {} to {profile}", args.image.display()),
    )
}

pub fn detach(args: &DetachArgs) -> Result<ExitCode> {
    let src = image_source(&args.image, None)?;
    with_running_vm(
        &args.domain,
        &args.helper,
        |driver, vm| driver.restore_image_label(vm, &src),
        |profile| format!("cannot regenerate the rules of {profile}"),
    )
}
