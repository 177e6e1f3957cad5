//! The builtin that runs a registered [`Processor`] for the instruction being executed.
//!
//! It mirrors what the BPF loader does around an SBF program: serialize the instruction accounts
//! with the SBF ABI (so `AccountInfo::resize` and duplicate accounts behave as on chain), call the
//! entrypoint, then write lamports, data and owner back, letting the transaction context enforce
//! the usual rules (read-only accounts, external data, lamport spends, owner changes).
#![allow(unsafe_code)] // Deserializing the SBF input buffer is inherently unsafe; see `run`.

use {
    crate::{Processor, stubs},
    solana_program::{
        account_info::AccountInfo, entrypoint::deserialize, instruction::InstructionError, program_error::ProgramError,
        pubkey::Pubkey,
    },
    solana_program_runtime::{
        declare_process_instruction, invoke_context::InvokeContext, serialization::serialize_parameters, stable_log,
    },
    solana_transaction_context::BorrowedInstructionAccount,
    std::{
        any::Any,
        collections::HashMap,
        panic::{AssertUnwindSafe, catch_unwind},
        sync::{LazyLock, PoisonError, RwLock},
    },
};

/// Processors by program id. Global rather than thread-local so a `LiteSVM` may move between
/// threads; the builtin looks its processor up by the id of the program being executed.
static PROCESSORS: LazyLock<RwLock<HashMap<Pubkey, Processor>>> = LazyLock::new(Default::default);

pub(crate) fn register(program_id: Pubkey, processor: Processor) {
    PROCESSORS.write().unwrap_or_else(PoisonError::into_inner).insert(program_id, processor);
}

fn lookup(program_id: &Pubkey) -> Option<Processor> {
    PROCESSORS.read().unwrap_or_else(PoisonError::into_inner).get(program_id).copied()
}

// A builtin must consume at least 1 CU, or the runtime fails it with
// `BuiltinProgramsMustConsumeComputeUnits`. The invoke/success/failure log lines come from the
// runtime itself, so none are written here.
declare_process_instruction!(NativeProgram, 1, |invoke_context| { run(invoke_context) });

fn run(invoke_context: &mut InvokeContext<'_, '_>) -> Result<(), InstructionError> {
    let instruction_context = invoke_context.transaction_context.get_current_instruction_context()?;
    let program_id = *instruction_context.get_program_key()?;
    let processor = lookup(&program_id).ok_or(InstructionError::UnsupportedProgramId)?;
    let mask_out_rent_epoch = invoke_context.get_feature_set().mask_out_rent_epoch_in_vm_serialization;
    // No VM, so neither the stricter ABI checks nor direct mapping can apply.
    let (mut input, _regions, _metadata, _data_offset) =
        serialize_parameters(&instruction_context, false, false, mask_out_rent_epoch)?;

    // SAFETY: `input` was just produced by the runtime's serializer, which is the layout
    // `deserialize` expects, and it outlives every reference `deserialize` hands out: they are
    // used only inside this function, and `input` is dropped after them.
    let (program_id_ref, account_infos, data) = unsafe { deserialize(input.as_slice_mut().as_mut_ptr()) };

    let outcome = {
        let _active = stubs::enter(invoke_context);
        catch_unwind(AssertUnwindSafe(|| processor(program_id_ref, &account_infos, data)))
    };
    // A failed CPI aborts the caller, whatever the processor did afterwards.
    if let Some(err) = stubs::take_abort() {
        return Err(err);
    }
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(err)) => return Err(to_instruction_error(err)),
        Err(panic) => {
            let message = format!("panicked: {}", panic_message(panic.as_ref()));
            stable_log::program_log(&invoke_context.get_log_collector(), &message);
            return Err(InstructionError::ProgramFailedToComplete);
        }
    }

    // Re-fetch: CPIs pushed and popped instruction contexts meanwhile.
    let instruction_context = invoke_context.transaction_context.get_current_instruction_context()?;
    for (index, account_info) in (0..).zip(&account_infos) {
        if instruction_context.is_instruction_account_duplicate(index)?.is_some() {
            continue;
        }
        let mut account = instruction_context.try_borrow_instruction_account(index)?;
        commit_account_info(&mut account, account_info)?;
    }
    Ok(())
}

/// The error a `ProgramError` becomes on chain (`Custom(n)` stays `Custom(n)`).
pub(crate) fn to_instruction_error(err: ProgramError) -> InstructionError {
    InstructionError::from(u64::from(err))
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(non-string payload)")
}

/// Copies lamports, data and owner from `account_info` into the runtime's `account`, touching only
/// what changed. The owner goes last, so that a program may still fill an account it is about to
/// give away. Illegal changes fail exactly as on chain (e.g. `ExternalAccountDataModified`).
pub(crate) fn commit_account_info(
    account: &mut BorrowedInstructionAccount<'_, '_>,
    account_info: &AccountInfo<'_>,
) -> Result<(), InstructionError> {
    let lamports = account_info.lamports();
    if account.get_lamports() != lamports {
        account.set_lamports(lamports)?;
    }
    let data = account_info.try_borrow_data().map_err(|_| InstructionError::AccountBorrowFailed)?;
    if account.get_data() != &data[..] {
        account.set_data_from_slice(&data)?;
    }
    if account.get_owner() != account_info.owner {
        account.set_owner(account_info.owner.as_ref())?;
    }
    Ok(())
}
