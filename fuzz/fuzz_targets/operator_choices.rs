//! A VM's profile file and override file, as an operator may have edited
//! them: applying the per-VM choices never panics and is idempotent, and
//! an override file reads back as what it renders to.
#![no_main]
use libfuzzer_sys::fuzz_target;
use svirt::domain::DomainUuid;
use svirt::policy::overrides::Overrides;
use svirt::policy::{apply_operator_choices, has_complain_flag, OperatorChoices, ProfileName};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let name = ProfileName::for_uuid(&DomainUuid::parse("00000000-0000-0000-0000-0000000000aa").unwrap());
    let choices = OperatorChoices {
        overrides: selector & 1 != 0,
        complain: match selector >> 1 & 3 {
            0 => None,
            1 => Some(true),
            _ => Some(false),
        },
    };
    if let Ok(once) = apply_operator_choices(text, &name, choices) {
        assert_eq!(apply_operator_choices(&once, &name, choices).unwrap(), once);
        if let Some(complain) = choices.complain {
            assert_eq!(has_complain_flag(&once, &name).unwrap(), complain);
        }
    }
    if let Ok(parsed) = Overrides::parse(text) {
        let rendered = parsed.render(&name, "vm");
        assert_eq!(Overrides::parse(&rendered).unwrap(), parsed);
    }
});
